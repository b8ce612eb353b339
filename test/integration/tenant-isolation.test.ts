import { describe, expect, it } from 'vitest';
import { ExecuteImportDocument, ImportStatusDocument } from '../../operations/generated.js';
import { useCleanup } from '../helpers/cleanup.js';
import { importState, type RecordedRequest, startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';
import { postGraphQL } from '../helpers/graphql.js';
import { type Recorded, record } from '../helpers/subscriptions.js';
import { wsClient } from '../helpers/ws-client.js';

/**
 * Two tenants on the same import. The fake upstream answers each credential with a state that
 * names it, so anything fetched with one credential and handed to the other would show.
 */

const alice = 'Bearer alice-credential';
const bob = 'Bearer bob-credential';
const ref = { clientId: 'acme', accessToken: '4242' };
const viewOf = (authorization: string | undefined) => (authorization === alice ? 'alice-view' : authorization === bob ? 'bob-view' : 'nobody');

describe('tenant isolation', () => {
  const cleanup = useCleanup();

  async function setup(status: (request: RecordedRequest) => string) {
    const upstream = await startFakeUpstream((request, response) => {
      const body = importState({
        AccessToken: 4242,
        Name: viewOf(request.authorization),
        Status: request.rawPath.endsWith('/Execute') ? 'Queued' : status(request),
      });
      // Latency, so that concurrent callers really overlap (Execute the longest: all ten calls
      // must arrive while the first is still in flight).
      setTimeout(
        () => {
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(JSON.stringify(body));
        },
        request.rawPath.endsWith('/Execute') ? 500 : 20,
      );
    });
    cleanup(() => upstream.stop());
    const gateway = await startGateway(upstream.baseUrl, { POLL_INTERVAL_MS: '100', IDLE_POLL_INTERVAL_MS: '100' }, cleanup);
    const subscribe = (authorization: string): Recorded =>
      record(wsClient(gateway.wsUrl, { connectionParams: { authorization } }, cleanup), ImportStatusDocument, ref);
    return { upstream, gateway, subscribe };
  }

  const names = (recorded: Recorded) => new Set(recorded.results.map((result) => result.data?.['importStatus']?.name));

  it('subscribers joining the same import at the same instant only see data fetched with their own credential', async () => {
    const { upstream, gateway, subscribe } = await setup(() => 'Processing');
    const subscribers = Array.from({ length: 20 }, (_, i) => ({ authorization: i % 2 ? alice : bob, recorded: subscribe(i % 2 ? alice : bob) }));
    await Promise.all(subscribers.map(({ recorded }) => recorded.received(1)));
    for (const { authorization, recorded } of subscribers) expect(names(recorded)).toEqual(new Set([viewOf(authorization)]));
    expect(gateway.gateway.statusHub.stats().pollers).toBe(2);
    expect(new Set(upstream.requests.map((request) => request.authorization))).toEqual(new Set([alice, bob]));
    for (const { recorded } of subscribers) recorded.unsubscribe();
  });

  it('concurrent executeImport calls share an upstream call only within one credential', async () => {
    const { upstream, gateway } = await setup(() => 'Staging');
    const calls = Array.from({ length: 10 }, (_, i) => {
      const authorization = i % 2 ? alice : bob;
      return postGraphQL(gateway.url, ExecuteImportDocument, ref, authorization).then((response) => ({ authorization, response }));
    });
    for (const { authorization, response } of await Promise.all(calls)) {
      expect(response.data?.executeImport).toMatchObject({ status: 'QUEUED', name: viewOf(authorization) });
    }
    const executes = upstream.requests.filter((request) => request.rawPath.endsWith('/Execute'));
    expect(executes.map((request) => request.authorization).sort()).toEqual([alice, bob]);
  });

  it("the terminal-state cache answers a late subscriber only with its own credential's state", async () => {
    const { upstream, subscribe } = await setup(() => 'Completed');
    const first = subscribe(alice);
    await first.done;
    expect(names(first)).toEqual(new Set(['alice-view']));
    const again = subscribe(alice);
    await again.done;
    expect(upstream.requests).toHaveLength(1); // answered from the cache

    const other = subscribe(bob);
    await other.done;
    expect(names(other)).toEqual(new Set(['bob-view']));
    expect(upstream.requests.map((request) => request.authorization)).toEqual([alice, bob]);
  });
});
