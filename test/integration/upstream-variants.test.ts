import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ImportStatusDocument, ImportSummaryDocument } from '../../operations/generated.js';
import { createLogger } from '../../src/logger.js';
import { useCleanup } from '../helpers/cleanup.js';
import { importState, inTurn, json, startFakeUpstream, type FakeHandler } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';
import { postGraphQL } from '../helpers/graphql.js';
import { record, statusSequence } from '../helpers/subscriptions.js';
import { wsClient } from '../helpers/ws-client.js';

/**
 * The upstream as it really is, from a fake MyPreferences over real HTTP: the status spelled as
 * the provider's own page spells it, a status nobody documented, and dates without a zone.
 */

const credential = 'Bearer fake-upstream-credential';
const ref = { clientId: 'acme', accessToken: '4242' };
const state = (overrides: Record<string, unknown>) => json(200, importState({ ValidationSuccessful: 4, ...overrides }));

describe('upstream variants', () => {
  const cleanup = useCleanup();
  const originalTz = process.env['TZ'];
  afterEach(() => {
    if (originalTz === undefined) delete process.env['TZ'];
    else process.env['TZ'] = originalTz;
  });

  async function setup(handler: FakeHandler) {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const upstream = await startFakeUpstream(handler);
    cleanup(() => upstream.stop());
    const gateway = await startGateway(upstream.baseUrl, { POLL_INTERVAL_MS: '50' }, cleanup, { logger: createLogger('info', sink) });
    return { upstream, gateway, lines };
  }

  it('follows an import whose final status is spelled "Complete", as the provider\'s Execute page has it', async () => {
    const { gateway } = await setup(inTurn(state({ Status: 'Processing', Processed: 1 }), state({ Status: 'In Progress', Processed: 2 }), state({ Status: 'Complete', Processed: 4 })));
    const watcher = record(wsClient(gateway.wsUrl, { connectionParams: { authorization: credential } }, cleanup), ImportStatusDocument, ref);
    await watcher.done;
    expect(statusSequence(watcher)).toEqual(['PROCESSING:1', 'PROCESSING:2', 'COMPLETED:4']);
  });

  it('an unknown status is logged once and keeps the last known state; the import still finishes', async () => {
    const exploded = state({ Status: 'Exploded', Processed: 3 });
    const { upstream, gateway, lines } = await setup(inTurn(state({ Status: 'Processing', Processed: 1 }), exploded, exploded, exploded, exploded, state({ Status: 'Completed', Processed: 4 })));
    const watcher = record(wsClient(gateway.wsUrl, { connectionParams: { authorization: credential } }, cleanup), ImportStatusDocument, ref);
    await watcher.done;
    expect(upstream.requests.length).toBeGreaterThanOrEqual(6);
    expect(statusSequence(watcher)).toEqual(['PROCESSING:1', 'COMPLETED:4']);
    const warnings = lines.filter((line) => line['level'] === 40 && String(line['msg']).includes('does not know'));
    expect(warnings).toEqual([expect.objectContaining({ status: 'Exploded' })]);
  });

  it('reads an Expires without a time zone as UTC, whatever the server\'s zone', async () => {
    process.env['TZ'] = 'Pacific/Auckland';
    expect(new Date(2026, 11, 3).getTimezoneOffset()).not.toBe(0); // the zone change took effect
    const { gateway } = await setup(state({ Status: 'Staging', Expires: '2026-12-03T10:00:00' }));
    const summary = await postGraphQL(gateway.url, ImportSummaryDocument, ref, credential);
    expect(summary.data!['importSummary'].expires).toBe('2026-12-03T10:00:00.000Z');
  });
});
