import { once } from 'node:events';
import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ImportSummaryDocument } from '../../operations/generated.js';
import { DEMO_ACCOUNT, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { postGraphQL, queryText } from '../helpers/graphql.js';
import { READ, startIdentityProvider, WRITE, writeAccountsFile } from '../helpers/identity-provider.js';
import { openPost, postThenRead, readAnswer } from '../helpers/raw-http.js';
import { openRawWebSocket } from '../helpers/raw-websocket.js';
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

/** A graphql-ws `subscribe` message of exactly `bytes` bytes: `{ __typename }` padded like {@link paddedBody}. */
function paddedSubscribe(id: string, bytes: number): string {
  const frame = `{"id":"${id}","type":"subscribe","payload":}`;
  return `{"id":"${id}","type":"subscribe","payload":${paddedBody(bytes - frame.length)}}`;
}

/** A `ws` client of graphql-transport-ws, opened; its close code once it closes. */
async function openWebSocket(gateway: RunningGateway, register: (dispose: () => unknown) => void) {
  const socket = new WebSocket(gateway.wsUrl, 'graphql-transport-ws');
  register(() => socket.terminate());
  socket.on('error', () => undefined); // the gateway may cut it while it sends
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  await once(socket, 'open');
  return { socket, closed };
}

/** Sends `connection_init` and waits for its acknowledgement. */
async function initialise(socket: WebSocket, payload: Record<string, unknown>): Promise<void> {
  const acknowledged = once(socket, 'message');
  socket.send(JSON.stringify({ type: 'connection_init', payload }));
  expect(JSON.parse(String((await acknowledged)[0]))).toEqual({ type: 'connection_ack' });
}

/** The next graphql-ws message for operation `id` (a `next` or an `error`); rejects when the connection closes first. */
function answerTo(socket: WebSocket, id: string): Promise<{ type: string; payload: any }> {
  return new Promise((resolve, reject) => {
    const onClose = (code: number) => reject(new Error(`closed with ${code} before answering ${id}`));
    const onMessage = (data: Buffer) => {
      const message = JSON.parse(String(data)) as { id?: string; type: string; payload: any };
      if (message.id !== id || message.type === 'complete') return;
      socket.off('message', onMessage);
      socket.off('close', onClose);
      resolve(message);
    };
    socket.on('message', onMessage);
    socket.once('close', onClose);
  });
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

  describe('over WebSocket, the same admission', () => {
    it('refuses eight 25 MB frames sent before connection_init from their head, with 1009; /healthz answers meanwhile', async () => {
      const { simulator, gateway } = await setup();
      // One connection_init of 25 MB, written whole by each client (unmasked: its masking key is zero).
      const frame = Buffer.from(paddedSubscribe('big', 25 * MB).replace('"type":"subscribe"', '"type":"connection_init"'));
      const clients = await Promise.all(Array.from({ length: 8 }, () => openRawWebSocket(gateway.wsUrl, cleanup)));
      for (const client of clients) {
        client.sendHead(frame.length);
        client.socket.write(frame);
      }
      const health = await fetch(`${gateway.origin}/healthz`);
      expect(health.status).toBe(200);
      const closes = await Promise.race([Promise.all(clients.map((client) => client.closeFrame)), failAfter(15_000, 'every close frame', cleanup)]);
      expect(closes.map((close) => close.code)).toEqual(Array(8).fill(1009));
      await Promise.race([Promise.all(clients.map((client) => client.ended)), failAfter(15_000, 'every connection closed', cleanup)]);
      expect(simulator.requests.count()).toBe(0);
    });

    it('refuses a frame over 64 KB before connection_init from its head alone: the close comes though the payload never does', async () => {
      const { gateway } = await setup();
      const client = await openRawWebSocket(gateway.wsUrl, cleanup);
      client.sendHead(25 * MB);
      client.socket.write(Buffer.alloc(1024, ' '));
      const close = await Promise.race([client.closeFrame, failAfter(5_000, 'the close frame', cleanup)]);
      expect(close.code).toBe(1009);
      await Promise.race([client.ended, failAfter(5_000, 'the socket closed', cleanup)]);
    });

    it('keeps a caller that may do nothing at 64 KB a message after connection_ack, and one with a credential at MAX_REQUEST_BYTES', async () => {
      const { gateway } = await setup();
      const anonymous = await openWebSocket(gateway, cleanup);
      await initialise(anonymous.socket, {});
      anonymous.socket.send(paddedSubscribe('1', 64 * 1024 + 1));
      expect(await Promise.race([anonymous.closed, failAfter(5_000, 'the close', cleanup)])).toBe(1009);

      const importing = await openWebSocket(gateway, cleanup);
      await initialise(importing.socket, { authorization: importer });
      const answer = answerTo(importing.socket, '1');
      importing.socket.send(paddedSubscribe('1', 2 * MB));
      expect((await answer).payload).toEqual({ data: { __typename: 'Query' } });
    });

    it('in jwt mode holds a verified token that grants no scope or no clientId to 64 KB: 403 unread over HTTP, 1009 over WebSocket', async () => {
      const simulator = await startSimulator();
      cleanup(() => simulator.stop());
      const idp = await startIdentityProvider(cleanup);
      const gateway = await startGateway(simulator.baseUrl, idp.env(writeAccountsFile(simulator, cleanup)), cleanup);
      const cases = [
        { claims: { scope: '' }, reason: 'MISSING_SCOPE' },
        { claims: { scope: 'openid profile' }, reason: 'MISSING_SCOPE' },
        { claims: { mypreferences_clients: [] }, reason: 'CLIENT_NOT_GRANTED' },
      ];
      for (const { claims, reason } of cases) {
        const authorization = `Bearer ${await idp.mint({ claims })}`;
        const answer = await Promise.race([
          startUpload(gateway, 10 * MB, { authorization }, cleanup).response,
          failAfter(5_000, `the ${reason} answer`, cleanup),
        ]);
        expect(answer.status).toBe(403);
        expect(JSON.parse(answer.body).errors[0].extensions).toEqual({ code: 'FORBIDDEN', reason });

        const client = await openWebSocket(gateway, cleanup);
        await initialise(client.socket, { authorization });
        client.socket.send(paddedSubscribe('1', 64 * 1024 + 1));
        expect(await Promise.race([client.closed, failAfter(5_000, 'the close', cleanup)])).toBe(1009);
      }
      // A small document still runs; a granted token sends large ones.
      const ungranted = await postGraphQL(gateway.url, '{ __typename }', {}, `Bearer ${await idp.mint({ claims: { scope: '' } })}`);
      expect(ungranted).toMatchObject({ status: 200, data: { __typename: 'Query' } });
      const granted = await openWebSocket(gateway, cleanup);
      await initialise(granted.socket, { authorization: `Bearer ${await idp.mint({ claims: { scope: `${READ} ${WRITE}` } })}` });
      const answer = answerTo(granted.socket, '1');
      granted.socket.send(paddedSubscribe('1', 2 * MB));
      expect((await answer).payload).toEqual({ data: { __typename: 'Query' } });
      expect(simulator.requests.count('status')).toBe(0);
    });

    it('shares MAX_INFLIGHT_REQUEST_BYTES with HTTP: a message that does not fit closes its connection with 1013, a message running holds its bytes against HTTP bodies', async () => {
      let answerHeld: () => void = () => undefined;
      const upstream = await startFakeUpstream((_request, response) => {
        answerHeld = () => response.writeHead(404).end(); // not retried: one upstream request
      });
      cleanup(() => upstream.stop());
      const gateway = await startGateway(upstream.baseUrl, { MAX_REQUEST_BYTES: String(MB), MAX_INFLIGHT_REQUEST_BYTES: String(1.5 * MB) }, cleanup);

      // An HTTP body being read holds 1 MB: a 1 MB message does not fit.
      const seen = once(gateway.gateway.server, 'request');
      const upload = startUpload(gateway, MB, { authorization: importer }, cleanup);
      await seen;
      await new Promise((resolve) => setImmediate(resolve)); // its admission ran (microtasks only)
      const refused = await openWebSocket(gateway, cleanup);
      await initialise(refused.socket, { authorization: importer });
      refused.socket.send(paddedSubscribe('1', MB));
      expect(await Promise.race([refused.closed, failAfter(5_000, 'the close', cleanup)])).toBe(1013);
      upload.request.end(paddedBody(MB));
      expect((await upload.response).status).toBe(200);

      // A message whose operation runs (its upstream call held) holds its bytes: a 1 MB body does not fit.
      const running = await openWebSocket(gateway, cleanup);
      await initialise(running.socket, { authorization: importer });
      const summary = answerTo(running.socket, 'summary');
      const padding = 'x'.repeat(MB - 4096);
      running.socket.send(
        JSON.stringify({
          id: 'summary',
          type: 'subscribe',
          payload: { query: queryText(ImportSummaryDocument), variables: { clientId: 'demo', accessToken: '1000', padding } },
        }),
      );
      await upstream.received(1);
      const overloaded = await startUpload(gateway, MB, { authorization: importer }, cleanup).response;
      expect(overloaded.status).toBe(503);
      expect(JSON.parse(overloaded.body).errors[0].extensions).toMatchObject({ code: 'OVERLOADED' });
      answerHeld();
      expect((await summary).payload.errors[0].extensions).toMatchObject({ code: 'NOT_FOUND' });
      const after = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: importer },
        body: paddedBody(MB),
      });
      expect(after.status).toBe(200);
    });
  });
});
