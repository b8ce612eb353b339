import { once } from 'node:events';
import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DEMO_ACCOUNT, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { postGraphQL } from '../helpers/graphql.js';
import { startIdentityProvider, writeAccountsFile } from '../helpers/identity-provider.js';
import { openPost, postThenRead, readAnswer } from '../helpers/raw-http.js';
import { execute, wsClient } from '../helpers/ws-client.js';

/**
 * What `/graphql` decides from a request's headers alone, before it reads a byte of the body:
 * its length, who sends it, and how much is being read already — and one body limit for HTTP
 * and WebSocket alike.
 */

const importer = DEMO_ACCOUNT.credentials[0]!.value;
const MB = 1024 * 1024;

interface Upload {
  request: ClientRequest;
  /** The answer, which may come before the body was sent. */
  response: Promise<{ status: number; headers: IncomingMessage['headers']; body: string }>;
}

/** Starts a POST declaring `length` bytes, and sends none of them yet. */
function startUpload(gateway: RunningGateway, length: number, headers: Record<string, string>, register: (dispose: () => unknown) => void): Upload {
  const request = httpRequest(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(length), ...headers } });
  request.on('error', () => undefined); // the gateway may close the connection while we would upload
  register(() => request.destroy());
  request.flushHeaders();
  const response = new Promise<{ status: number; headers: IncomingMessage['headers']; body: string }>((resolve) =>
    request.once('response', (answer) => {
      let body = '';
      answer.on('data', (chunk: Buffer) => (body += chunk.toString()));
      answer.on('end', () => resolve({ status: answer.statusCode ?? 0, headers: answer.headers, body }));
    }),
  );
  return { request, response };
}

/** A JSON body of exactly `bytes` bytes: `{ __typename }` with padding in an unused variable. */
function paddedBody(bytes: number): string {
  const frame = JSON.stringify({ query: '{ __typename }', variables: { padding: '' } });
  return frame.replace('"padding":""', `"padding":"${'x'.repeat(bytes - frame.length)}"`);
}

/** The server's side of every connection `gateway` accepts from now on. */
function watchConnections(gateway: RunningGateway) {
  const sockets: Socket[] = [];
  gateway.gateway.server.on('connection', (socket: Socket) => sockets.push(socket));
  const closed = (socket: Socket) => (socket.closed ? Promise.resolve() : once(socket, 'close').then(() => undefined));
  return { sockets, allClosed: () => Promise.all(sockets.map(closed)) };
}

/** Rejects after `ms`, naming what did not happen: a hang guard, far above the bound under test. */
function failAfter(ms: number, what: string, register: (dispose: () => unknown) => void): Promise<never> {
  return new Promise((_, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
    register(() => clearTimeout(timer));
  });
}

describe('request admission', () => {
  const cleanup = useCleanup();

  async function setup(env: Record<string, string> = {}, options: Parameters<typeof startGateway>[3] = {}) {
    const simulator = await startSimulator();
    cleanup(() => simulator.stop());
    const gateway = await startGateway(simulator.baseUrl, env, cleanup, options);
    return { simulator, gateway };
  }

  /**
   * Twenty times, a client that writes its whole 8 MB body before reading (more than the socket
   * buffers hold, so it is still writing when the refusal comes) must get the refusal, not a
   * reset; and every connection is closed afterwards.
   */
  async function expectRefusedEveryTime(gateway: RunningGateway, headers: Record<string, string>, status: number, extensions: Record<string, unknown>) {
    const connections = watchConnections(gateway);
    const body = Buffer.alloc(8 * MB, ' ');
    const outcomes: string[] = [];
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        const answer = await postThenRead(gateway.origin, '/graphql', body, headers, cleanup);
        expect(answer.headers['connection']).toBe('close');
        expect(JSON.parse(answer.body).errors[0].extensions).toMatchObject(extensions);
        outcomes.push(String(answer.status));
      } catch (error) {
        outcomes.push(`reset (${(error as NodeJS.ErrnoException).code})`);
      }
    }
    expect(outcomes).toEqual(Array(20).fill(String(status)));
    // Closed because each body ended, well before the 10 s bound would have cut them.
    await Promise.race([connections.allClosed(), failAfter(5_000, 'every refused connection closed', cleanup)]);
    expect(connections.sockets).toHaveLength(20);
  }

  it('refuses eight 25 MB bodies without a credential before reading them; /healthz answers meanwhile', async () => {
    const { simulator, gateway } = await setup();
    const uploads = Array.from({ length: 8 }, () => startUpload(gateway, 25 * MB, {}, cleanup));
    // Not a byte of any body has been sent, yet every one is answered.
    const answers = await Promise.all(uploads.map((upload) => upload.response));
    for (const answer of answers) {
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.body).errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
    }
    expect((await fetch(`${gateway.origin}/healthz`)).status).toBe(200);
    expect(simulator.requests.count()).toBe(0);
  });

  it('in jwt mode refuses a large body with an invalid token unread, and lets a small unauthenticated one through', async () => {
    const simulator = await startSimulator();
    cleanup(() => simulator.stop());
    const idp = await startIdentityProvider(cleanup);
    const gateway = await startGateway(simulator.baseUrl, idp.env(writeAccountsFile(simulator, cleanup)), cleanup);
    const forged = await idp.mint({ foreignKey: true });
    const answer = await startUpload(gateway, 10 * MB, { authorization: `Bearer ${forged}` }, cleanup).response;
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body).errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'INVALID_TOKEN' });

    const sdl = await postGraphQL(gateway.url, '{ _service { sdl } }');
    expect(sdl.data?.['_service']?.sdl).toContain('type BulkImport');
    expect(simulator.requests.count()).toBe(0);
  });

  it('caps the bytes of requests in flight: over MAX_INFLIGHT_REQUEST_BYTES, 503 with Retry-After, then room again', async () => {
    const { gateway } = await setup({ MAX_REQUEST_BYTES: String(MB), MAX_INFLIGHT_REQUEST_BYTES: String(2 * MB) });
    const seen = new Promise<void>((resolve) => {
      let count = 0;
      gateway.gateway.server.on('request', () => ++count === 2 && resolve());
    });
    const first = startUpload(gateway, MB, { authorization: importer }, cleanup);
    const second = startUpload(gateway, MB, { authorization: importer }, cleanup);
    await seen;
    await new Promise((resolve) => setImmediate(resolve)); // their admission ran (microtasks only)

    const third = await startUpload(gateway, MB, { authorization: importer }, cleanup).response;
    expect(third.status).toBe(503);
    expect(third.headers['retry-after']).toBe('1');
    expect(JSON.parse(third.body).errors[0].extensions).toMatchObject({ code: 'OVERLOADED', retryAfterSeconds: 1 });

    first.request.end(paddedBody(MB));
    expect((await first.response).status).toBe(200);
    const fourth = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: importer }, body: paddedBody(MB) });
    expect(fourth.status).toBe(200);
    second.request.end(paddedBody(MB));
    expect((await second.response).status).toBe(200);
  });

  it('applies one body limit, MAX_REQUEST_BYTES, to HTTP and WebSocket alike', async () => {
    const { gateway } = await setup();
    // Above yoga's own default of 25,000,000 bytes, below ours of 26 MB: accepted on both.
    const body = paddedBody(25_500_000);
    const overHttp = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: importer }, body });
    expect(overHttp.status).toBe(200);
    expect(await overHttp.json()).toEqual({ data: { __typename: 'Query' } });
    const client = wsClient(gateway.wsUrl, { connectionParams: { authorization: importer } }, cleanup);
    const { variables } = JSON.parse(body) as { variables: Record<string, unknown> };
    expect(await execute(client, '{ __typename }', variables)).toEqual({ data: { __typename: 'Query' } });
  });

  it('refuses a body over the limit with 413 over HTTP and 1009 over WebSocket', async () => {
    const { gateway } = await setup({ MAX_REQUEST_BYTES: String(MB), MAX_INFLIGHT_REQUEST_BYTES: String(2 * MB) });
    const body = paddedBody(MB + 1);
    const overHttp = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: importer }, body });
    expect(overHttp.status).toBe(413);
    expect(((await overHttp.json()) as { errors: Array<{ extensions: unknown }> }).errors[0]!.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'REQUEST_TOO_LARGE',
    });

    const raw = new WebSocket(gateway.wsUrl, 'graphql-transport-ws');
    cleanup(() => raw.terminate());
    await new Promise((resolve) => raw.once('open', resolve));
    raw.send(JSON.stringify({ type: 'connection_init', payload: { authorization: importer } }));
    await new Promise((resolve) => raw.once('message', resolve));
    const closed = new Promise<number>((resolve) => raw.once('close', (code) => resolve(code)));
    raw.send(JSON.stringify({ id: '1', type: 'subscribe', payload: JSON.parse(body) }));
    expect(await closed).toBe(1009);
  });

  it('answers 401 every time to a client that sends a large body without a credential and reads only when done; each connection then closes', async () => {
    const { gateway } = await setup();
    await expectRefusedEveryTime(gateway, {}, 401, { code: 'UNAUTHENTICATED' });
  });

  it('answers 413 every time to a client that sends a body over MAX_REQUEST_BYTES and reads only when done; each connection then closes', async () => {
    const { gateway } = await setup({ MAX_REQUEST_BYTES: String(MB) });
    await expectRefusedEveryTime(gateway, { authorization: importer }, 413, { code: 'BAD_USER_INPUT', reason: 'REQUEST_TOO_LARGE' });
  });

  it('reads a refused body no further than its byte bound: a client that never stops sending gets its 413, then the connection is cut', async () => {
    const bound = 2 * MB;
    const { gateway } = await setup({ MAX_REQUEST_BYTES: String(MB) }, { refusedBodyDrain: { maxBytes: bound, maxMs: 60_000 } });
    const accepted = once(gateway.gateway.server, 'connection') as Promise<[Socket]>;
    const client = openPost(gateway.origin, '/graphql', 1024 * MB, { authorization: importer }, cleanup);
    client.on('error', () => undefined); // the cut
    const chunk = Buffer.alloc(64 * 1024, ' ');
    const send = () => {
      while (!client.destroyed && client.write(chunk));
    };
    client.on('drain', send);
    send();
    const [serverSide] = await accepted;
    const answer = await readAnswer(client);
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'REQUEST_TOO_LARGE' });

    await Promise.race([once(serverSide, 'close'), failAfter(10_000, 'the connection cut', cleanup)]);
    // Drained up to the bound (not reset at once), and no further than one socket read past it.
    expect(serverSide.bytesRead).toBeGreaterThan(bound);
    expect(serverSide.bytesRead).toBeLessThan(bound + 256 * 1024);
  });

  it('holds a refused connection no longer than its time bound: a sender trickling its body gets its 401, then the connection is cut', async () => {
    const bound = 300;
    const { gateway } = await setup({}, { refusedBodyDrain: { maxMs: bound } });
    const accepted = once(gateway.gateway.server, 'connection') as Promise<[Socket]>;
    const client = openPost(gateway.origin, '/graphql', 10 * MB, {}, cleanup);
    client.on('error', () => undefined);
    const trickle = setInterval(() => client.write(' '), 20);
    cleanup(() => clearInterval(trickle));
    const [serverSide] = await accepted;
    const answer = await readAnswer(client);
    const answeredAt = performance.now();
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body).errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED' });

    // Without the bound the trickle would hold it for Node's requestTimeout: five minutes.
    await Promise.race([once(serverSide, 'close'), failAfter(5_000, 'the connection cut', cleanup)]);
    expect(performance.now() - answeredAt).toBeGreaterThanOrEqual(bound - 50);
  });
});
