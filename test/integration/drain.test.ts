import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ImportStatusDocument, InitiateImportDocument } from '../../operations/generated.js';
import { DEMO_ACCOUNT, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { postGraphQL, queryText } from '../helpers/graphql.js';
import { startTsProcess } from '../helpers/process.js';

/** SIGTERM on a real gateway process with 200 WebSocket subscribers. */

const importer = DEMO_ACCOUNT.credentials[0]!;
const WINDOW_MS = 2_000;
const DEADLINE_MS = 6_000;

interface Subscriber {
  socket: WebSocket;
  closed: Promise<{ code: number; at: number }>;
}

/** A raw graphql-transport-ws client subscribed to the import; resolves once its first state arrived. */
async function subscribe(wsUrl: string, variables: Record<string, unknown>): Promise<Subscriber> {
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
  const closed = new Promise<{ code: number; at: number }>((resolve) => socket.once('close', (code) => resolve({ code, at: Date.now() })));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const firstNext = new Promise<void>((resolve) =>
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string };
      if (message.type === 'connection_ack') {
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: queryText(ImportStatusDocument), variables } }));
      }
      if (message.type === 'next') resolve();
    }),
  );
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: importer.value } }));
  await firstNext;
  return { socket, closed };
}

describe('graceful drain', () => {
  const cleanup = useCleanup();

  it('flips readiness, refuses new upgrades, closes 200 subscribers with 1001 spread over the window, and exits 0 in time', async () => {
    const simulator = await startSimulator();
    cleanup(() => simulator.stop());
    const server = startTsProcess(
      'src/server.ts',
      {
        PORT: '0',
        HOST: '127.0.0.1',
        MYPREFERENCES_BASE_URL: simulator.baseUrl,
        AUTH_MODE: 'passthrough',
        DRAIN_WINDOW_MS: String(WINDOW_MS),
        DRAIN_TIMEOUT_MS: String(DEADLINE_MS),
      },
      cleanup,
    );
    const { url } = await server.waitForLog((line) => typeof line['url'] === 'string');
    const origin = new URL(url).origin;
    const wsUrl = url.replace('http', 'ws');
    const initiated = await postGraphQL(url, InitiateImportDocument, { clientId: 'demo', input: { name: 'drained' } }, importer.value);
    const ref = { clientId: 'demo', accessToken: initiated.data!.initiateImport.accessToken };

    const subscribers: Subscriber[] = [];
    for (let batch = 0; batch < 4; batch++) {
      subscribers.push(...(await Promise.all(Array.from({ length: 50 }, () => subscribe(wsUrl, ref)))));
    }
    cleanup(() => {
      for (const { socket } of subscribers) socket.terminate();
    });

    const signalledAt = Date.now();
    server.child.kill('SIGTERM');
    await server.waitForLog((line) => line['msg'] === 'shutting down: draining');
    const readiness = await fetch(`${origin}/readyz`);
    const readinessAt = Date.now();
    expect(readiness.status).toBe(503);
    expect((await fetch(`${origin}/healthz`)).status).toBe(200);

    const refused = new WebSocket(wsUrl, 'graphql-transport-ws');
    refused.on('error', () => undefined); // terminate() after the refusal reports "closed before established"
    const refusal = await new Promise<number>((resolve) => refused.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0)));
    refused.terminate();
    expect(refusal).toBe(503);

    const closes = await Promise.all(subscribers.map((subscriber) => subscriber.closed));
    expect(closes.every(({ code }) => code === 1001)).toBe(true);
    const times = closes.map(({ at }) => at).sort((a, b) => a - b);
    expect(times[0]!).toBeGreaterThanOrEqual(readinessAt - 50);
    // Spread: the closes take most of the window, and no tenth of the window holds more than a quarter of them.
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(WINDOW_MS * 0.7);
    const slot = WINDOW_MS / 10;
    const perSlot = new Map<number, number>();
    for (const at of times) perSlot.set(Math.floor((at - times[0]!) / slot), (perSlot.get(Math.floor((at - times[0]!) / slot)) ?? 0) + 1);
    expect(Math.max(...perSlot.values())).toBeLessThanOrEqual(50);

    const { code } = await server.exited;
    expect(code).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(DEADLINE_MS);
    // The drain ran to its end (pollers stopped, pools closed) rather than being cut by the deadline.
    expect(server.stdout()).toContain('"msg":"stopped"');
    expect(server.stdout()).not.toContain('drain deadline reached');
  });
});
