import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkWebhookUrl,
  createWebhookDispatcher,
  type WebhookDestinationError,
  type WebhookDestinationPolicy,
  type WebhookDispatcherOptions,
} from '../../src/webhooks/destination.js';
import { postWebhook, type WebhookPostOptions } from '../../src/webhooks/post-webhook.js';
import { useCleanup } from '../helpers/cleanup.js';
import { freePort } from '../helpers/ports.js';
import { startUnacceptingListener } from '../helpers/unaccepting-listener.js';

/**
 * Where a webhook may go, through real parts: webhook endpoints the test runs on 127.0.0.1 (so
 * reachable only when allow-listed), the undici dispatcher deliveries use, and resolvers that
 * answer what a test needs (a name that rebinds between registration and delivery).
 */

const PUBLIC_V4 = '93.184.215.14';
const BODY = JSON.stringify({ type: 'IMPORT_COMPLETED', data: { accessToken: 'a' } });
const HEADERS = { 'content-type': 'application/json', 'webhook-id': 'msg_1' };
const ATTEMPT: WebhookPostOptions = { timeoutMs: 10_000, maxAnswerBytes: 4096 };

/** Resolves when `socket` closes (an error on the way, such as a reset, included). */
const closed = (socket: Socket) => new Promise((resolve) => socket.once('close', resolve));

interface Received {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingMessage['headers'];
  body: string;
}

interface Endpoint {
  port: number;
  /** Requests received, once their body is read. */
  requests: Received[];
  /** Connections accepted (TCP; TLS handshakes or not). */
  sockets: Socket[];
}

describe('webhook destinations', () => {
  const cleanup = useCleanup();
  let certificates: { key: string; cert: string; folder: string };

  beforeAll(() => {
    const folder = mkdtempSync(join(tmpdir(), 'webhook-tls-'));
    const key = join(folder, 'key.pem');
    const cert = join(folder, 'cert.pem');
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
        ...['-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
      ],
      { stdio: 'ignore' },
    );
    certificates = { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8'), folder };
  });
  afterAll(() => rmSync(certificates.folder, { recursive: true, force: true }));

  /** An endpoint on 127.0.0.1: `answer` is called once the request's body is read. */
  async function startEndpoint(answer: (response: ServerResponse, request: IncomingMessage) => void, tls = false): Promise<Endpoint> {
    const requests: Received[] = [];
    const sockets: Socket[] = [];
    const handler = (request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        requests.push({ method: request.method, url: request.url, headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
        answer(response, request);
      });
    };
    const server: Server = tls ? createHttpsServer({ key: certificates.key, cert: certificates.cert }, handler) : createServer(handler);
    server.on('connection', (socket: Socket) => sockets.push(socket));
    // Long enough that a connection closed during a test was closed by the client.
    server.keepAliveTimeout = 60_000;
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanup(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });
    return { port: (server.address() as AddressInfo).port, requests, sockets };
  }

  function dispatcher(policy: WebhookDestinationPolicy, options: Partial<WebhookDispatcherOptions> = {}) {
    const agent = createWebhookDispatcher(policy, { connectTimeoutMs: 10_000, ...options });
    cleanup(() => agent.destroy());
    return agent;
  }

  const noContent = (response: ServerResponse) => response.writeHead(204).end();
  const none: WebhookDestinationPolicy = { allowedHosts: [] };

  it('refuses an endpoint on 127.0.0.1 unless allow-listed, at registration and at delivery, before connecting', async () => {
    const endpoint = await startEndpoint(noContent);
    const http = `http://127.0.0.1:${endpoint.port}/hook`;
    const https = `https://127.0.0.1:${endpoint.port}/hook`;
    const refusal = (check: Promise<URL>) => check.then(String, (error: WebhookDestinationError) => `${error.reason} ${error.refused?.kind ?? ''}`.trim());
    expect(await refusal(checkWebhookUrl(http, none))).toBe('NOT_HTTPS');
    expect(await refusal(checkWebhookUrl(https, none))).toBe('PRIVATE_ADDRESS loopback');

    const agent = dispatcher(none);
    expect(await postWebhook(agent, new URL(http), HEADERS, BODY, ATTEMPT)).toMatchObject({ error: 'NOT_HTTPS' });
    expect(await postWebhook(agent, new URL(https), HEADERS, BODY, ATTEMPT)).toMatchObject({ error: 'PRIVATE_ADDRESS' });
    // A name, through the system resolver.
    expect(await postWebhook(agent, new URL(`https://localhost:${endpoint.port}/hook`), HEADERS, BODY, ATTEMPT)).toMatchObject({
      error: 'PRIVATE_ADDRESS',
    });
    // Another port of the same host is not the allowed host:port.
    const otherPort = dispatcher({ allowedHosts: [`127.0.0.1:${endpoint.port + 1}`] });
    expect(await postWebhook(otherPort, new URL(http), HEADERS, BODY, ATTEMPT)).toMatchObject({ error: 'NOT_HTTPS' });
    expect(endpoint.sockets).toHaveLength(0);
  });

  it('delivers to an allow-listed 127.0.0.1:<port>, over http, and reads the answer', async () => {
    const endpoint = await startEndpoint((response) => response.writeHead(202, { 'content-type': 'text/plain' }).end('accepted'));
    const policy = { allowedHosts: [`127.0.0.1:${endpoint.port}`] };
    const url = await checkWebhookUrl(`http://127.0.0.1:${endpoint.port}/hook?tenant=acme`, policy);

    const agent = dispatcher(policy);
    expect(await postWebhook(agent, url, HEADERS, BODY, ATTEMPT)).toEqual({ status: 202, answer: 'accepted', answerTruncated: false });
    expect(await postWebhook(agent, url, HEADERS, BODY, ATTEMPT)).toMatchObject({ status: 202 });
    expect(endpoint.requests).toHaveLength(2);
    expect(endpoint.requests[0]).toMatchObject({ method: 'POST', url: '/hook?tenant=acme', body: BODY, headers: { 'webhook-id': 'msg_1' } });
  });

  it('refuses at delivery a name that resolved to a public address at registration and to 127.0.0.1 since (DNS rebinding)', async () => {
    const endpoint = await startEndpoint(noContent);
    const answers = [[PUBLIC_V4], ['127.0.0.1'], [PUBLIC_V4, '127.0.0.1']];
    const asked: string[] = [];
    const rebinding = async (hostname: string) => {
      asked.push(hostname);
      return answers[asked.length - 1] ?? [];
    };
    const url = await checkWebhookUrl(`https://hooks.example.com:${endpoint.port}/hook`, none, rebinding);

    const agent = dispatcher(none, { resolve: rebinding });
    const delivered = await postWebhook(agent, url, HEADERS, BODY, ATTEMPT);
    expect(delivered).toMatchObject({ error: 'PRIVATE_ADDRESS', message: expect.stringMatching(/hooks\.example\.com resolves to a loopback address/) });
    // One public address among the answers does not make a private one reachable.
    expect(await postWebhook(agent, url, HEADERS, BODY, ATTEMPT)).toMatchObject({ error: 'PRIVATE_ADDRESS' });
    // Resolved once at registration, then once for each connection attempted.
    expect(asked).toEqual(['hooks.example.com', 'hooks.example.com', 'hooks.example.com']);
    expect(endpoint.sockets).toHaveLength(0);
  });

  it('reads a few KB of a 10 MB answer, then drops the connection', async () => {
    let connectionClosed: Promise<unknown> | undefined;
    const endpoint = await startEndpoint((response, request) => {
      connectionClosed = closed(request.socket);
      response.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(10 * 1024 * 1024) });
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let sent = 0;
      const pump = () => {
        while (sent < 10 * 1024 * 1024 && !response.destroyed) {
          sent += chunk.length;
          if (!response.write(chunk)) return void response.once('drain', pump);
        }
        response.end();
      };
      pump();
    });
    const agent = dispatcher({ allowedHosts: [`127.0.0.1:${endpoint.port}`] });
    const url = new URL(`http://127.0.0.1:${endpoint.port}/hook`);

    const outcome = await postWebhook(agent, url, HEADERS, BODY, ATTEMPT);
    expect(outcome).toEqual({ status: 200, answer: 'x'.repeat(4096), answerTruncated: true });
    // By the client: the endpoint keeps connections open for a minute.
    await connectionClosed;
  });

  it('does not follow a redirect: a 302 is the answer, and its target receives nothing', async () => {
    const target = await startEndpoint(noContent);
    const redirecting = await startEndpoint((response) => response.writeHead(302, { location: `http://127.0.0.1:${target.port}/stolen` }).end());
    const agent = dispatcher({ allowedHosts: ['127.0.0.1'] });

    const outcome = await postWebhook(agent, new URL(`http://127.0.0.1:${redirecting.port}/hook`), HEADERS, BODY, ATTEMPT);
    expect(outcome).toEqual({ status: 302, answer: '', answerTruncated: false });
    expect(redirecting.requests).toHaveLength(1);
    expect(target.sockets).toHaveLength(0);
  });

  it('gives up on an endpoint that never answers at the attempt’s bound', async () => {
    let requestClosed: Promise<unknown> | undefined;
    const endpoint = await startEndpoint((_response, request) => {
      requestClosed = closed(request.socket);
    });
    const agent = dispatcher({ allowedHosts: [`127.0.0.1:${endpoint.port}`] });

    const started = performance.now();
    const outcome = await postWebhook(agent, new URL(`http://127.0.0.1:${endpoint.port}/hook`), HEADERS, BODY, { ...ATTEMPT, timeoutMs: 300 });
    const elapsed = performance.now() - started;
    expect(outcome).toMatchObject({ error: 'TIMEOUT' });
    expect(elapsed).toBeGreaterThanOrEqual(295);
    expect(elapsed).toBeLessThan(2_000);
    await requestClosed;
  });

  it('keeps the status of an answer whose body stalls, with what came of it by the bound', async () => {
    const endpoint = await startEndpoint((response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('ok, and then nothing');
    });
    const agent = dispatcher({ allowedHosts: [`127.0.0.1:${endpoint.port}`] });

    const started = performance.now();
    const outcome = await postWebhook(agent, new URL(`http://127.0.0.1:${endpoint.port}/hook`), HEADERS, BODY, { ...ATTEMPT, timeoutMs: 300 });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(outcome).toEqual({ status: 200, answer: 'ok, and then nothing', answerTruncated: true });
  });

  it('gives up on a connection that never opens at the attempt’s bound', async () => {
    const { port } = await startUnacceptingListener(cleanup);
    const agent = dispatcher({ allowedHosts: [`127.0.0.1:${port}`] });

    const started = performance.now();
    const outcome = await postWebhook(agent, new URL(`http://127.0.0.1:${port}/hook`), HEADERS, BODY, { ...ATTEMPT, timeoutMs: 300 });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(outcome).toMatchObject({ error: 'TIMEOUT' });
  });

  it('reports a refused connection', async () => {
    const port = await freePort();
    const agent = dispatcher({ allowedHosts: [`127.0.0.1:${port}`] });
    expect(await postWebhook(agent, new URL(`http://127.0.0.1:${port}/hook`), HEADERS, BODY, ATTEMPT)).toMatchObject({ error: 'CONNECTION_FAILED' });
  });

  it('delivers over https to a certificate its CA option trusts, and refuses one it does not', async () => {
    const endpoint = await startEndpoint(noContent, true);
    const policy = { allowedHosts: [`127.0.0.1:${endpoint.port}`] };
    const url = new URL(`https://127.0.0.1:${endpoint.port}/hook`);

    expect(await postWebhook(dispatcher(policy), url, HEADERS, BODY, ATTEMPT)).toMatchObject({ error: 'TLS_FAILED' });
    expect(endpoint.requests).toHaveLength(0);
    expect(await postWebhook(dispatcher(policy, { ca: certificates.cert }), url, HEADERS, BODY, ATTEMPT)).toEqual({
      status: 204,
      answer: '',
      answerTruncated: false,
    });
    expect(endpoint.requests).toHaveLength(1);
  });
});
