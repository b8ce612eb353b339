import { describe, expect, it } from 'vitest';
import { ImportSummaryDocument, InitiateImportDocument } from '../../operations/generated.js';
import { useCleanup } from '../helpers/cleanup.js';
import { importState, json, startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';
import { onlyError, postGraphQL } from '../helpers/graphql.js';
import { freePort } from '../helpers/ports.js';

/**
 * Answers the simulator never gives, from a local fake upstream over real HTTP: the gateway's
 * tolerance of the contract's loose edges and its mapping of odd failures.
 */

const credential = 'Bearer fake-upstream-credential';
const ref = { clientId: 'acme', accessToken: '4242' };

describe('gateway against a fake upstream', () => {
  const cleanup = useCleanup();

  async function setup(handler: Parameters<typeof startFakeUpstream>[0], env: Record<string, string> = {}) {
    const upstream = await startFakeUpstream(handler);
    cleanup(() => upstream.stop());
    const gateway = await startGateway(upstream.baseUrl, env, cleanup);
    return { upstream, gateway };
  }

  it('forwards the Authorization header unchanged and reads missing counters as 0', async () => {
    const { upstream, gateway } = await setup(json(200, { AccessToken: 4242, Status: 'Processing', Name: 'sparse', Processed: 3, ValidationSuccessful: 6 }));
    const response = await postGraphQL(gateway.url, ImportSummaryDocument, ref, credential);
    expect(response.errors).toBeUndefined();
    expect(response.data?.['importSummary']).toMatchObject({ status: 'PROCESSING', processed: 3, pending: 0, exceptions: 0, progress: 0.5, expires: null });
    expect(upstream.requests).toHaveLength(1);
    expect(upstream.requests[0]).toMatchObject({ method: 'GET', rawPath: '/Profiles/Async/acme/Import/4242/Status', authorization: credential });
  });

  it('reads Retry-After given as an HTTP date', async () => {
    const inNinetySeconds = new Date(Date.now() + 90_000).toUTCString();
    const { gateway } = await setup(json(429, { Message: 'Quota exceeded' }, { 'retry-after': inNinetySeconds }));
    const error = onlyError(await postGraphQL(gateway.url, ImportSummaryDocument, ref, credential));
    expect(error.extensions).toMatchObject({ code: 'RATE_LIMITED', upstreamStatus: 429 });
    expect(error.extensions?.['retryAfterSeconds']).toBeGreaterThanOrEqual(88);
    expect(error.extensions?.['retryAfterSeconds']).toBeLessThanOrEqual(90);
  });

  it('calls a body that is valid JSON but not the contract malformed', async () => {
    const { gateway } = await setup(json(200, { Status: 'Processing' }));
    const error = onlyError(await postGraphQL(gateway.url, ImportSummaryDocument, ref, credential));
    expect(error.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', upstreamStatus: 200, reason: 'MALFORMED_RESPONSE' });
  });

  it('gives up on an upstream that never answers after the headers timeout', async () => {
    const { gateway } = await setup(() => undefined, { UPSTREAM_HEADERS_TIMEOUT_MS: '150' });
    const error = onlyError(await postGraphQL(gateway.url, ImportSummaryDocument, ref, credential));
    expect(error.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason: 'TIMEOUT' });
  });

  it('reports a connection reset in the middle of the body as UPSTREAM_UNAVAILABLE, not a hang', async () => {
    const { gateway } = await setup(
      (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': '5000' });
        response.write('{"AccessToken": 4242, "Status": "Proc');
        setImmediate(() => response.socket?.destroy());
      },
      { UPSTREAM_RETRY_ATTEMPTS: '1' },
    );
    const error = onlyError(await postGraphQL(gateway.url, ImportSummaryDocument, ref, credential));
    expect(error.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason: 'CONNECTION_RESET' });
  });

  it('reports a refused connection without the upstream address', async () => {
    const port = await freePort();
    const gateway = await startGateway(`http://127.0.0.1:${port}/Profiles/`, {}, cleanup);
    const error = onlyError(await postGraphQL(gateway.url, ImportSummaryDocument, ref, credential));
    expect(error.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason: 'CONNECTION_REFUSED' });
    expect(JSON.stringify(error)).not.toContain(String(port));
  });

  it("sends Initiate settings in the upstream's names and keeps unset ones for its defaults", async () => {
    const { upstream, gateway } = await setup(json(200, importState()));
    const response = await postGraphQL(
      gateway.url,
      InitiateImportDocument,
      { clientId: 'acme', input: { name: 'Spring', importAction: 'DELETE', matchCriteria: 'ALTERNATE_ID_TYPE', matchValue: 'CRM', refreshTags: true } },
      credential,
    );
    expect(response.errors).toBeUndefined();
    expect(JSON.parse(upstream.requests[0]!.body)).toEqual({
      Name: 'Spring',
      ImportAction: 'Delete',
      MatchCriteria: 'AlternateIdType',
      MatchValue: 'CRM',
      RefreshTags: true,
    });
    expect(response.data?.['initiateImport']).toMatchObject({ accessToken: '4242', status: 'INITIATED' });
  });
});
