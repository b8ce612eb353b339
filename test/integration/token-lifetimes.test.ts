import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createClient } from 'graphql-ws';
import { describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { ExecuteImportDocument, ImportStatusDocument, ImportSummaryDocument, InitiateImportDocument, StageImportDocument } from '../../operations/generated.js';
import { DEMO_ACCOUNT, type SimulatorOptions, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { json, startFakeUpstream } from '../helpers/fake-upstream.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { onlyError, postGraphQL, queryText } from '../helpers/graphql.js';
import { type IdentityProvider, startIdentityProvider, writeAccountsFile } from '../helpers/identity-provider.js';
import { openPost, readAnswer } from '../helpers/raw-http.js';
import { openRawWebSocket } from '../helpers/raw-websocket.js';
import { validRecord } from '../helpers/records.js';
import { sseSubscribe } from '../helpers/sse.js';
import { type Recorded, record, statusSequence } from '../helpers/subscriptions.js';
import { wsClient } from '../helpers/ws-client.js';

/**
 * Tokens that expire while something runs: the gateway's service token (renewed before it
 * expires, retried once when refused) and the caller's JWT (its WebSocket closes with 4403, its
 * SSE stream ends with TOKEN_EXPIRED; clients come back with a fresh one).
 */

const clientId = DEMO_ACCOUNT.clientId;
const bearer = (token: string) => `Bearer ${token}`;
const nowS = () => Math.floor(Date.now() / 1000);

/** Rejects after `ms`, naming what did not happen: a hang guard, far above the bound under test. */
function failAfter(ms: number, what: string, register: (dispose: () => unknown) => void): Promise<never> {
  return new Promise((_, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
    register(() => clearTimeout(timer));
  });
}

/** A graphql-ws `subscribe` message running initiateImport. */
const initiateMessage = (id: string, name: string) =>
  JSON.stringify({ id, type: 'subscribe', payload: { query: queryText(InitiateImportDocument), variables: { clientId, input: { name } } } });

describe('token lifetimes', () => {
  const cleanup = useCleanup();

  async function setup(simulatorOptions: SimulatorOptions = {}, env: Record<string, string> = {}) {
    const simulator = await startSimulator({ queueDelayMs: 50, recordsPerSecond: 1000, ...simulatorOptions });
    cleanup(() => simulator.stop());
    const idp = await startIdentityProvider(cleanup);
    const gateway = await startGateway(
      simulator.baseUrl,
      { ...idp.env(writeAccountsFile(simulator, cleanup)), POLL_INTERVAL_MS: '200', AUTH_CLOCK_TOLERANCE_S: '0', ...env },
      cleanup,
    );
    return { simulator, idp, gateway };
  }

  async function stagedImport(gateway: RunningGateway, idp: IdentityProvider, records: number) {
    const authorization = bearer(await idp.mint());
    const initiated = await postGraphQL(gateway.url, InitiateImportDocument, { clientId, input: { name: 'lifetimes' } }, authorization);
    const ref = { clientId, accessToken: initiated.data!['initiateImport'].accessToken as string };
    await postGraphQL(gateway.url, StageImportDocument, { ...ref, records: Array.from({ length: records }, (_, i) => validRecord(i)) }, authorization);
    return ref;
  }

  it('a 2-second service token over a 30-second subscription: renewed ahead of expiry, never sent expired, no error', { timeout: 90_000 }, async () => {
    const { simulator, idp, gateway } = await setup({ tokenTtlSeconds: 2, recordsPerSecond: 10 });
    const ref = await stagedImport(gateway, idp, 300);
    const watcher = record(wsClient(gateway.wsUrl, { connectionParams: { authorization: bearer(await idp.mint()) } }, cleanup), ImportStatusDocument, ref);
    await watcher.received(1);
    const tokensBefore = simulator.requests.count('token');
    const started = Date.now();
    await postGraphQL(gateway.url, ExecuteImportDocument, ref, bearer(await idp.mint()));
    await watcher.done;
    const runS = (Date.now() - started) / 1000;

    expect(runS).toBeGreaterThan(29);
    expect(watcher.results.every((result) => result.errors === undefined)).toBe(true);
    expect(statusSequence(watcher).at(-1)).toBe('COMPLETED:300');
    // The simulator refuses an expired token with 401: not one call was refused.
    const api = simulator.requests.entries.filter((entry) => entry.route !== 'token');
    expect(api.filter((entry) => entry.status !== 200)).toEqual([]);
    // About one renewal per 0.8 × 2 s of running (±5 % jitter, and a renewal waits for the next poll).
    const renewals = simulator.requests.count('token') - tokensBefore;
    expect(renewals).toBeGreaterThanOrEqual(Math.floor(runS / (0.85 * 2 + 0.2)));
    expect(renewals).toBeLessThanOrEqual(Math.ceil(runS / (0.75 * 2)) + 1);
  });

  it('a thousand concurrent calls on a cold gateway cause one token request', async () => {
    const { simulator, idp, gateway } = await setup();
    const ref = await stagedImport(gateway, idp, 1);
    expect(simulator.requests.count('token')).toBe(1);
    // A new gateway: no token yet.
    const cold = await startGateway(
      simulator.baseUrl,
      {
        ...idp.env(writeAccountsFile(simulator, cleanup)),
        UPSTREAM_QUEUE_TIMEOUT_MS: '20000',
        UPSTREAM_MAX_PER_SECOND: '100000',
        // One caller, a thousand calls at once: past any rate a caller is allowed by default.
        CALLER_RATE_LIMIT_BURST: '1000',
      },
      cleanup,
    );
    const authorization = bearer(await idp.mint());
    const answers = await Promise.all(Array.from({ length: 1000 }, () => postGraphQL(cold.url, ImportSummaryDocument, ref, authorization)));
    expect(answers.filter((answer) => answer.errors !== undefined)).toEqual([]);
    expect(simulator.requests.count('token')).toBe(2);
  });

  it('a service token the upstream stops accepting is renewed once and the call retried: the caller sees nothing', async () => {
    const { simulator, idp, gateway } = await setup();
    const ref = await stagedImport(gateway, idp, 1);
    expect(simulator.requests.count('token')).toBe(1);
    expect(simulator.expireTokens()).toBe(1);

    const summary = await postGraphQL(gateway.url, ImportSummaryDocument, ref, bearer(await idp.mint()));
    expect(summary.errors).toBeUndefined();
    expect(simulator.requests.count('token')).toBe(2);
    const statuses = simulator.requests.entries.filter((entry) => entry.route === 'status').map((entry) => entry.status);
    expect(statuses).toEqual([401, 200]);
  });

  it('authenticates the service account in the form body when the accounts file says "auth": "body"', async () => {
    const simulator = await startSimulator();
    cleanup(() => simulator.stop());
    const idp = await startIdentityProvider(cleanup);
    const oauth = DEMO_ACCOUNT.oauthClients![0]!;
    const accounts = writeAccountsFile(simulator, cleanup, {
      extra: {
        [clientId]: {
          tokenUrl: simulator.tokenUrl,
          clientId: oauth.clientId,
          clientSecret: oauth.clientSecret,
          scope: `${clientId}/${oauth.userId}`,
          auth: 'body',
        },
      },
    });
    const gateway = await startGateway(simulator.baseUrl, idp.env(accounts), cleanup);
    const initiated = await postGraphQL(gateway.url, InitiateImportDocument, { clientId, input: { name: 'body auth' } }, bearer(await idp.mint()));
    expect(initiated.errors).toBeUndefined();
    expect(simulator.requests.entries.map((entry) => `${entry.route}:${entry.status}:${entry.credentialLabel}`)).toEqual([
      'token:200:demo-oauth',
      'initiate:200:demo-oauth',
    ]);
  });

  it.each([
    ['a 200 without a bearer token', json(200, { token_type: 'mac', access_token: 'x', expires_in: 60 })],
    ['a 400 invalid_scope', json(400, { error: 'invalid_scope' })],
    ['a body that is not JSON', (_request: unknown, response: ServerResponse) => response.writeHead(200).end('<html>')],
  ])('a token endpoint answering %s: UPSTREAM_UNAVAILABLE (TOKEN_ENDPOINT), the API not called', async (_name, handler) => {
    const simulator = await startSimulator();
    cleanup(() => simulator.stop());
    const tokenEndpoint = await startFakeUpstream(handler);
    cleanup(() => tokenEndpoint.stop());
    const idp = await startIdentityProvider(cleanup);
    const accounts = writeAccountsFile(simulator, cleanup, { tokenUrl: `${tokenEndpoint.baseUrl}oauth2/token` });
    const gateway = await startGateway(simulator.baseUrl, idp.env(accounts), cleanup);
    const error = onlyError(await postGraphQL(gateway.url, ImportSummaryDocument, { clientId, accessToken: '1000' }, bearer(await idp.mint())));
    expect(error.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason: 'TOKEN_ENDPOINT' });
    expect(tokenEndpoint.requests).toEqual([
      expect.objectContaining({
        method: 'POST',
        body: expect.stringContaining('grant_type=client_credentials'),
        authorization: expect.stringMatching(/^Basic /),
      }),
    ]);
    expect(simulator.requests.count()).toBe(0);
  });

  it('a token endpoint that fails: UPSTREAM_UNAVAILABLE (TOKEN_ENDPOINT), and the API is not called', async () => {
    const { simulator, idp, gateway } = await setup();
    simulator.faults.inject('token', { kind: 'status', status: 503 });
    const error = onlyError(await postGraphQL(gateway.url, ImportSummaryDocument, { clientId, accessToken: '1000' }, bearer(await idp.mint())));
    expect(error.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason: 'TOKEN_ENDPOINT' });
    expect(simulator.requests.count('status')).toBe(0);
  });

  it('a WebSocket whose caller token expires is closed with 4403 at expiry; the client reconnects with a fresh token and still sees COMPLETED', async () => {
    const { idp, gateway } = await setup();
    const ref = await stagedImport(gateway, idp, 5);
    const firstExpiry = nowS() + 2;
    const tokens = [await idp.mint({ claims: { exp: firstExpiry } })];
    const closes: Array<{ code: number; reason: string; at: number }> = [];
    const client = createClient({
      url: gateway.wsUrl,
      webSocketImpl: WebSocket,
      lazy: true,
      retryAttempts: 3,
      retryWait: () => Promise.resolve(),
      // A function: called again on every reconnect, so each connection gets the newest token.
      connectionParams: async () => ({ authorization: bearer(tokens.at(-1)!) }),
      on: { closed: (event) => closes.push({ code: (event as CloseEvent).code, reason: (event as CloseEvent).reason, at: Date.now() }) },
    });
    cleanup(() => client.dispose());
    const watcher: Recorded = record(client, ImportStatusDocument, ref);
    await watcher.received(1);
    tokens.push(await idp.mint());

    // The reconnected subscription starts with the current state again.
    await watcher.received(2);
    expect(closes[0]).toMatchObject({ code: 4403, reason: 'Token expired' });
    expect(closes[0]!.at - firstExpiry * 1000).toBeGreaterThanOrEqual(-50);
    expect(closes[0]!.at - firstExpiry * 1000).toBeLessThan(1000);

    await postGraphQL(gateway.url, ExecuteImportDocument, ref, bearer(await idp.mint()));
    await watcher.done;
    expect(statusSequence(watcher).slice(0, 2)).toEqual(['STAGING:0', 'STAGING:0']);
    expect(statusSequence(watcher).at(-1)).toBe('COMPLETED:5');
    expect(closes).toHaveLength(1);
  });

  it('a WebSocket client that never answers its 4403 close frame is cut within a second or so, and the writes it sends after its token expired never run', async () => {
    const { simulator, idp, gateway } = await setup();
    const authorization = bearer(await idp.mint({ claims: { exp: nowS() + 2 } }));
    const serverSide = new Promise<Socket>((resolve) => gateway.gateway.server.once('upgrade', (_request, socket: Socket) => resolve(socket)));
    // It never answers a close frame, and goes on sending.
    const client = await openRawWebSocket(gateway.wsUrl, cleanup);
    client.sendText(JSON.stringify({ type: 'connection_init', payload: { authorization } }));
    await client.nextMessage('connection_ack');

    expect(await client.closeFrame).toEqual({ code: 4403, reason: 'Token expired' });
    const closeFrameAt = performance.now();
    for (let i = 0; i < 5; i++) client.sendText(initiateMessage(`w${i}`, `after expiry ${i}`));
    // The gateway read every one of them (before the cut, which comes a second after the close frame)…
    const server = await serverSide;
    await vi.waitFor(() => expect(server.bytesRead).toBe(client.socket.bytesWritten), { timeout: 5_000, interval: 5 });
    // …then cuts the socket: ws alone would wait 30 s for the answer.
    await Promise.race([client.ended, failAfter(10_000, 'the socket cut', cleanup)]);
    const cutAfterMs = performance.now() - closeFrameAt;
    expect(cutAfterMs).toBeGreaterThan(800);
    expect(cutAfterMs).toBeLessThan(5_000);
    // …and ran none of them.
    expect(simulator.requests.count('initiate')).toBe(0);
    await vi.waitFor(() => expect(gateway.gateway.webSocketConnections).toBe(0), { interval: 5 });
  });

  it('an operation that starts after its token expired is refused: a mutation whose body arrives after the expiry is UNAUTHENTICATED (TOKEN_EXPIRED), the upstream not called', async () => {
    const { simulator, idp, gateway } = await setup();
    const authorization = bearer(await idp.mint({ claims: { exp: nowS() + 2 } }));
    // The expiry as an event: a WebSocket with the same token is closed with 4403 when it comes
    // (its connection_init also verified the token once, so the POST's admission is quick).
    const watcher = await openRawWebSocket(gateway.wsUrl, cleanup);
    watcher.sendText(JSON.stringify({ type: 'connection_init', payload: { authorization } }));
    await watcher.nextMessage('connection_ack');

    const body = Buffer.from(JSON.stringify({ query: queryText(InitiateImportDocument), variables: { clientId, input: { name: 'slow body' } } }));
    const admitted = once(gateway.gateway.server, 'request');
    const post = openPost(gateway.origin, '/graphql', body.length, { authorization }, cleanup);
    await admitted; // its token was valid when its head arrived
    expect((await watcher.closeFrame).code).toBe(4403);
    post.write(body);
    const answer = await readAnswer(post);

    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).errors[0].extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'TOKEN_EXPIRED' });
    expect(simulator.requests.count('initiate')).toBe(0);
  });

  it('an SSE stream ends with UNAUTHENTICATED (TOKEN_EXPIRED) when its caller token expires', async () => {
    const { idp, gateway } = await setup();
    const ref = await stagedImport(gateway, idp, 1);
    const expiry = nowS() + 2;
    const stream = await sseSubscribe(gateway.url, queryText(ImportStatusDocument), ref, bearer(await idp.mint({ claims: { exp: expiry } })), cleanup);
    await stream.done;
    const endedAt = Date.now();
    expect(stream.results.map((result) => result.data?.['importStatus']?.status ?? result.errors?.[0]?.extensions?.['reason'])).toEqual([
      'STAGING',
      'TOKEN_EXPIRED',
    ]);
    expect(stream.results[1]!.errors![0]!.extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(stream.completed).toBe(true);
    expect(endedAt - expiry * 1000).toBeLessThan(1000);
    expect(gateway.gateway.statusHub.stats().pollers).toBe(0);
  });
});
