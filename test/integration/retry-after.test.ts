import { describe, expect, it } from 'vitest';
import { ImportStatusDocument } from '../../operations/generated.js';
import { useCleanup } from '../helpers/cleanup.js';
import { json, startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';
import { record, statusSequence } from '../helpers/subscriptions.js';
import { wsClient } from '../helpers/ws-client.js';

/**
 * A Retry-After is advice, not a command: the gateway waits at most STATUS_BACKOFF_MAX_MS,
 * whatever the upstream says — neither a day of silence nor, past Node's 2^31 ms timer limit,
 * a hot loop — and the give-up deadline always applies.
 */

const credential = 'Bearer fake-upstream-credential';
const ref = { clientId: 'acme', accessToken: '4242' };

describe('Retry-After on status polls', () => {
  const cleanup = useCleanup();

  async function watch(retryAfter: string, env: Record<string, string>) {
    const upstream = await startFakeUpstream(json(429, { Message: 'Slow down' }, { 'retry-after': retryAfter }));
    cleanup(() => upstream.stop());
    const gateway = await startGateway(upstream.baseUrl, { STATUS_BACKOFF_BASE_MS: '100', STATUS_BACKOFF_MAX_MS: '200', ...env }, cleanup);
    const watcher = record(wsClient(gateway.wsUrl, { connectionParams: { authorization: credential } }, cleanup), ImportStatusDocument, ref);
    return { upstream, watcher };
  }

  it('a Retry-After past the 2^31 ms timer limit does not make the poller spin', async () => {
    const { upstream, watcher } = await watch('2147484', {});
    await upstream.received(5);
    const gaps = upstream.requests.slice(1, 5).map((request, i) => request.at - upstream.requests[i]!.at);
    // Equal jitter of the 200 ms cap: at least 100 ms apart (an overflowed timer fires after 1 ms).
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(95);
    watcher.unsubscribe();
  });

  it('a Retry-After of a day is capped at STATUS_BACKOFF_MAX_MS, and the give-up deadline still ends the subscription', async () => {
    const { upstream, watcher } = await watch('86400', { STATUS_GIVE_UP_AFTER_MS: '1000' });
    await upstream.received(2); // capped: a second poll comes within the test, not tomorrow
    await watcher.done;
    expect(statusSequence(watcher)).toEqual(['error:UPSTREAM_UNAVAILABLE']);
  });
});
