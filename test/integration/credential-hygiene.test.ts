import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  ExecuteImportDocument,
  FailedRecordsDocument,
  ImportStatusDocument,
  ImportSummaryDocument,
  InitiateImportDocument,
  StageImportDocument,
} from '../../operations/generated.js';
import { createLogger } from '../../src/logger.js';
import { useCleanup } from '../helpers/cleanup.js';
import { type FakeHandler, importState, json, startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';
import { type Operation, postGraphQL, queryText } from '../helpers/graphql.js';
import { validRecord } from '../helpers/records.js';
import { sseSubscribe } from '../helpers/sse.js';
import { record, statusSequence } from '../helpers/subscriptions.js';
import { execute, wsClient } from '../helpers/ws-client.js';

/**
 * Passthrough mode end to end: the caller's Authorization is forwarded upstream and must appear
 * nowhere else. A real gateway at LOG_LEVEL=trace, its every log line captured, in front of a fake
 * MyPreferences that answers each operation differently — success, 400 echoing the credential
 * back, 401, 403, 404, 429, 500, a reset connection, a malformed body quoting the credential, a
 * status nobody documented — over HTTP, WebSocket (connectionParams and the upgrade's header) and
 * SSE, plus Authorization values the gateway refuses. Then the log, every GraphQL answer,
 * `/metrics`, `/healthz` and `/readyz` are searched for the credential.
 *
 * `jwt-auth.test.ts` does the same for jwt mode's tokens and client secret.
 */

const CANARY = 'passthrough-canary-41c7e2b9';
const SECRET = `Bearer ${CANARY}`;
const ref = { clientId: 'acme', accessToken: '4242' };

const state = (overrides: Record<string, unknown> = {}) => json(200, importState({ ValidationSuccessful: 4, ...overrides }));
const rejected = (status: number) => json(status, { Message: `Request with ${SECRET} refused (${status})` });

describe('the forwarded credential (passthrough) stays out of logs, errors and metrics', () => {
  const cleanup = useCleanup();

  it('through success, every upstream failure and refused Authorization values, on every transport', async () => {
    let log = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        log += chunk.toString();
        done();
      },
    });
    const upstream = await startFakeUpstream(state());
    cleanup(() => upstream.stop());
    const gateway = await startGateway(
      upstream.baseUrl,
      {
        LOG_LEVEL: 'trace',
        POLL_INTERVAL_MS: '50',
        IDLE_POLL_INTERVAL_MS: '50',
        STATUS_BACKOFF_BASE_MS: '20',
        STATUS_BACKOFF_MAX_MS: '20',
        // One attempt each, and no open breaker: every operation below reaches the upstream.
        UPSTREAM_RETRY_ATTEMPTS: '1',
        UPSTREAM_BREAKER_MIN_CALLS: '100000',
      },
      cleanup,
      { logger: createLogger('trace', sink) },
    );

    /** Every answer the caller got, as text. */
    const answers: string[] = [];
    const codes: unknown[] = [];
    const post = async (handler: FakeHandler, operation: Operation, variables: Record<string, unknown>, authorization = SECRET) => {
      upstream.respond(handler);
      const response = await postGraphQL(gateway.url, operation, variables, authorization);
      answers.push(JSON.stringify(response));
      codes.push(response.errors?.[0]?.extensions?.['code'] ?? 'OK');
    };

    await post(state({ Status: 'Initiated' }), InitiateImportDocument, { clientId: ref.clientId, input: { name: 'hygiene' } });
    await post(rejected(400), StageImportDocument, { ...ref, records: [validRecord(1)] });
    await post(rejected(401), ImportSummaryDocument, ref);
    await post(rejected(403), ExecuteImportDocument, ref);
    await post(rejected(404), InitiateImportDocument, { clientId: ref.clientId, input: { name: 'hygiene' } });
    await post(json(429, { Message: SECRET }, { 'retry-after': '1' }), ImportSummaryDocument, ref);
    await post(rejected(500), ImportSummaryDocument, ref);
    await post((_request, response) => response.socket?.destroy(), ImportSummaryDocument, ref);
    await post(
      (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(`{"Exceptions": "${SECRET}", `);
      },
      FailedRecordsDocument,
      { ...ref, limit: 10 },
    );
    await post(state({ Status: `Stuck with ${SECRET}` }), ImportSummaryDocument, ref);
    // Refused before any upstream call: too long to be a header the gateway forwards.
    const requestsBefore = upstream.requests.length;
    await post(state(), ImportSummaryDocument, ref, `${SECRET}${'x'.repeat(9000)}`);
    expect(upstream.requests.length).toBe(requestsBefore);
    expect(codes).toEqual([
      'OK',
      'BAD_USER_INPUT',
      'UNAUTHENTICATED',
      'FORBIDDEN',
      'NOT_FOUND',
      'RATE_LIMITED',
      'UPSTREAM_UNAVAILABLE',
      'UPSTREAM_UNAVAILABLE',
      'UPSTREAM_UNAVAILABLE',
      'UPSTREAM_UNAVAILABLE',
      'BAD_USER_INPUT',
    ]);

    // WebSocket, credential in connectionParams: a subscription polled through a 500 until a 401 ends it.
    let polls = 0;
    upstream.respond((request, response) => {
      polls++;
      if (polls === 1) return state({ Status: 'Processing', Processed: 1 })(request, response);
      if (polls === 2) return rejected(500)(request, response);
      return rejected(401)(request, response);
    });
    const overWs = record(wsClient(gateway.wsUrl, { connectionParams: { authorization: SECRET } }, cleanup), ImportStatusDocument, ref);
    await overWs.done;
    answers.push(JSON.stringify(overWs.results));
    expect(statusSequence(overWs)).toEqual(['PROCESSING:1', 'error:UNAUTHENTICATED']);

    // WebSocket, credential in the upgrade request's header (as routers propagate it): a mutation failing upstream.
    upstream.respond(rejected(500));
    const upgradeClient = wsClient(gateway.wsUrl, { headers: { authorization: SECRET } }, cleanup);
    const overUpgrade = await execute(upgradeClient, ExecuteImportDocument, ref);
    answers.push(JSON.stringify(overUpgrade));
    expect(overUpgrade.errors?.[0]?.extensions?.['code']).toBe('UPSTREAM_UNAVAILABLE');

    // WebSocket, an Authorization that cannot be a header value (a line break): refused, not echoed.
    const malformedClient = wsClient(gateway.wsUrl, { connectionParams: { authorization: `${SECRET}\r\nX-Injected: 1` } }, cleanup);
    const requestsBeforeMalformed = upstream.requests.length;
    const malformed = await execute(malformedClient, ImportSummaryDocument, ref);
    answers.push(JSON.stringify(malformed));
    expect(malformed.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'authorization' });
    expect(upstream.requests.length).toBe(requestsBeforeMalformed);

    // SSE: a state, then a 403 ends it.
    let ssePolls = 0;
    upstream.respond((request, response) => (ssePolls++ === 0 ? state({ Status: 'Processing', Processed: 2 }) : rejected(403))(request, response));
    const overSse = await sseSubscribe(gateway.url, queryText(ImportStatusDocument), ref, SECRET, cleanup);
    await overSse.done;
    answers.push(JSON.stringify(overSse.results));
    expect(overSse.results.map((result) => result.errors?.[0]?.extensions?.['code'] ?? result.data?.['importStatus']?.['status'])).toEqual([
      'PROCESSING',
      'FORBIDDEN',
    ]);

    const metrics = await (await fetch(`${gateway.origin}/metrics`)).text();
    const health = await (await fetch(`${gateway.origin}/healthz`)).text();
    const ready = await (await fetch(`${gateway.origin}/readyz`)).text();

    expect(log).not.toContain(CANARY);
    for (const answer of answers) expect(answer).not.toContain(CANARY);
    expect(metrics).not.toContain(CANARY);
    expect(health).not.toContain(CANARY);
    expect(ready).not.toContain(CANARY);

    // The credential did travel where it must: every upstream request carried it, unchanged.
    expect(upstream.requests.length).toBeGreaterThan(15);
    for (const request of upstream.requests) expect(request.authorization).toBe(SECRET);
    // The log has the lines a leak would be in: the most verbose ones (nothing is written at
    // trace), failures, access and audit lines, the upstream's own words (scrubbed).
    for (const expected of [
      '"level":20',
      '"msg":"upstream call failed"',
      '"component":"access"',
      '"component":"audit"',
      '"status":"Stuck with [credential]"',
    ]) {
      expect(log).toContain(expected);
    }
    expect(metrics).toContain('bulk_import_gateway_upstream_requests_total');
  });
});
