import { describe, expect, it } from 'vitest';
import { startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/ports.js';

/** REUSE_PORT: replicas on one machine share one PORT (SO_REUSEPORT), as Node 24's `listen` allows. */
describe('REUSE_PORT', () => {
  const cleanup = useCleanup();

  it('lets two replicas listen on one port; the port keeps serving when one of them stops', async () => {
    const simulator = await startSimulator();
    cleanup(() => simulator.stop());
    const port = String(await freePort());
    const first = await startGateway(simulator.baseUrl, { PORT: port, REUSE_PORT: 'true' }, cleanup);
    const second = await startGateway(simulator.baseUrl, { PORT: port, REUSE_PORT: 'true' }, cleanup);
    expect(second.origin).toBe(first.origin);

    await first.gateway.stop();
    // A new connection each time: the kernel hands it to a listener still open.
    for (let attempt = 0; attempt < 5; attempt++) {
      const answer = await fetch(`${second.origin}/readyz`, { headers: { connection: 'close' } });
      expect(answer.status).toBe(200);
    }
  });

  it('is off by default: a second replica on the same port fails to start', async () => {
    const simulator = await startSimulator();
    cleanup(() => simulator.stop());
    const port = String(await freePort());
    await startGateway(simulator.baseUrl, { PORT: port }, cleanup);
    await expect(startGateway(simulator.baseUrl, { PORT: port }, cleanup)).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
