import { describe, expect, it } from 'vitest';
import { startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startGateway } from '../helpers/gateway.js';
import { startTsProcess } from '../helpers/process.js';

/** `npm run demo` against a running gateway: the example client a frontend developer copies. */
describe('the progress demo', () => {
  const cleanup = useCleanup();

  it('stages, executes, follows the progress to COMPLETED and prints the failed records', async () => {
    const simulator = await startSimulator({ queueDelayMs: 100, recordsPerSecond: 5000 });
    cleanup(() => simulator.stop());
    const gateway = await startGateway(simulator.baseUrl, { POLL_INTERVAL_MS: '100' }, cleanup);

    const demo = startTsProcess('examples/progress-demo.ts', { GATEWAY_URL: gateway.url, RECORDS: '2500' }, cleanup);
    const { code } = await demo.exited;
    const output = demo.stdout();
    expect(demo.stderr()).toBe('');
    expect(code).toBe(0);
    expect(output).toMatch(/Staged 2500 records: \d+ valid, \d+ failed validation/);
    expect(output).toMatch(/\[█+░*\]\s+\d+% PROCESSING/);
    expect(output).toMatch(/\[█{30}\] 100% COMPLETED/);
    expect(output).toMatch(/COMPLETED: \d+ imported, \d+ exceptions/);
    expect(output).toMatch(/First failed records \(\d+ in all\):\n {2}STAGING/);
    // One status request per interval, not one per progress line.
    expect(simulator.requests.count('status')).toBeLessThan(40);
  });
});
