import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DEMO_ACCOUNT, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';

/**
 * `CORS_ORIGINS` decides which browser pages may call the gateway: the same list for CORS
 * answers and for WebSocket upgrades (which browsers open cross-origin without a preflight).
 */

const APP = 'https://app.example.com';
const EVIL = 'https://evil.example.net';
const authorization = DEMO_ACCOUNT.credentials[0]!.value;

/** A raw HTTP request, so that `Origin` is sent exactly as a browser would. */
function send(
  gateway: RunningGateway,
  method: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      gateway.url,
      { method, headers: { ...headers, ...(body !== undefined && { 'content-length': String(Buffer.byteLength(body)) }) } },
      (response) => {
        response.resume();
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers }));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

const query = JSON.stringify({ query: '{ __typename }' });
const post = (gateway: RunningGateway, origin: string) => send(gateway, 'POST', { origin, 'content-type': 'application/json', authorization }, query);

/** Resolves with the upgrade's outcome: 'open', or the HTTP status it was refused with. */
function upgrade(gateway: RunningGateway, headers: Record<string, string>, register: (dispose: () => unknown) => void): Promise<'open' | number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(gateway.wsUrl, 'graphql-transport-ws', { headers });
    register(() => socket.terminate());
    socket.once('open', () => resolve('open'));
    socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    socket.once('error', () => undefined);
  });
}

describe('browser origins', () => {
  const cleanup = useCleanup();

  async function setup(env: Record<string, string>) {
    const simulator = await startSimulator();
    cleanup(() => simulator.stop());
    return startGateway(simulator.baseUrl, env, cleanup);
  }

  it('answers a listed origin without credentials, and a foreign origin without any CORS header', async () => {
    const gateway = await setup({ CORS_ORIGINS: `${APP}, https://admin.example.com` });
    const allowed = await post(gateway, APP);
    expect(allowed.status).toBe(200);
    expect(allowed.headers['access-control-allow-origin']).toBe(APP);
    expect(allowed.headers['access-control-allow-credentials']).toBeUndefined();

    const foreign = await post(gateway, EVIL);
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
    expect(foreign.headers['access-control-allow-credentials']).toBeUndefined();

    const preflight = await send(gateway, 'OPTIONS', {
      origin: APP,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type',
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(APP);
    expect(preflight.headers['access-control-allow-headers']).toMatch(/authorization/);
    const foreignPreflight = await send(gateway, 'OPTIONS', { origin: EVIL, 'access-control-request-method': 'POST' });
    expect(foreignPreflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('allows no cross-origin page by default when a real upstream is configured', async () => {
    const gateway = await setup({});
    expect((await post(gateway, APP)).headers['access-control-allow-origin']).toBeUndefined();
    expect(await upgrade(gateway, { origin: APP }, cleanup)).toBe(403);
  });

  it('refuses WebSocket upgrades from a foreign origin, and opens them for a listed one, the same origin and non-browsers', async () => {
    const gateway = await setup({ CORS_ORIGINS: APP });
    expect(await upgrade(gateway, { origin: EVIL }, cleanup)).toBe(403);
    expect(await upgrade(gateway, { origin: APP }, cleanup)).toBe('open');
    expect(await upgrade(gateway, { origin: gateway.origin }, cleanup)).toBe('open');
    expect(await upgrade(gateway, {}, cleanup)).toBe('open');
  });

  it('lets any origin in with CORS_ORIGINS=*, still without credentials', async () => {
    const gateway = await setup({ CORS_ORIGINS: '*' });
    const answer = await post(gateway, EVIL);
    expect(answer.headers['access-control-allow-origin']).toBe(EVIL);
    expect(answer.headers['access-control-allow-credentials']).toBeUndefined();
    expect(await upgrade(gateway, { origin: EVIL }, cleanup)).toBe('open');
  });
});
