import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { closeGradually } from '../../src/transport/gradual-close.js';
import { useCleanup } from '../helpers/cleanup.js';
import { manualTimers } from '../helpers/manual-timers.js';

/** The drain's gradual close, on real sockets and a manual clock: closes spread over the window, each answered. */
describe('closeGradually', () => {
  const cleanup = useCleanup();

  it('closes one socket per slice of the window, in order, and resolves when all are closed', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    cleanup(() => new Promise((resolve) => server.close(resolve)));
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const accepted: WebSocket[] = [];
    const allAccepted = new Promise<void>((resolve) =>
      server.on('connection', (socket) => {
        accepted.push(socket);
        if (accepted.length === 3) resolve();
      }),
    );
    const clients = await Promise.all(
      [0, 1, 2].map(async () => {
        const client = new WebSocket(`ws://127.0.0.1:${port}`);
        cleanup(() => client.terminate());
        await once(client, 'open');
        return client;
      }),
    );
    await allAccepted;

    const closedAt: Array<{ index: number; code: number; at: number }> = [];
    const timers = manualTimers();
    const everyClose = clients.map(
      (client, index) =>
        new Promise<void>((resolve) =>
          client.once('close', (code) => {
            closedAt.push({ index, code, at: timers.now() });
            resolve();
          }),
        ),
    );
    const done = closeGradually(accepted, 3_000, timers, { code: 1001, reason: 'Server restarting: reconnect' });

    for (const [index, at] of [0, 1_000, 2_000].entries()) {
      timers.advance(at - timers.now());
      await everyClose[index];
    }
    await done;
    expect(closedAt).toEqual([
      { index: 0, code: 1001, at: 0 },
      { index: 1, code: 1001, at: 1_000 },
      { index: 2, code: 1001, at: 2_000 },
    ]);
  });
});
