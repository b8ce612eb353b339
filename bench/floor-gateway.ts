/**
 * The floor: the least work any gateway on Node can do for the bench's importStatus fan-out.
 * No GraphQL at all — a raw `ws` server that speaks just enough graphql-transport-ws for the
 * bench's clients (connection_init → ack, ping → pong, subscribe, complete), polls each import
 * once per interval with undici, serialises each new state once, and writes it to every socket
 * with the subscription's id spliced into a prebuilt frame. Nothing is validated, authorised,
 * masked, shared across processes or protected against slow consumers: whatever our gateway
 * costs beyond this is the price of being a real service.
 *
 * Written for the bench only (`bench/gateways.ts` starts it). Environment: UPSTREAM_BASE_URL
 * (ends with `/Profiles/`), POLL_INTERVAL_MS, PORT (0 = any). Prints
 * `{"msg": "listening", "url": ...}`. `GET /metrics`: prom-client's default metrics (heap,
 * event-loop lag), under the prefix `floor_gateway_`.
 */
import { createServer } from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { request } from 'undici';
import { type WebSocket, WebSocketServer } from 'ws';

const baseUrl = process.env['UPSTREAM_BASE_URL'] ?? 'http://127.0.0.1:4010/Profiles/';
const intervalMs = Number(process.env['POLL_INTERVAL_MS'] ?? 1000);
const port = Number(process.env['PORT'] ?? 0);

interface UpstreamState {
  Status: string;
  AccessToken: number;
  TotalRecordsReceived: number;
  ValidationSuccessful: number;
  Processed: number;
  Pending: number;
  Exceptions: number;
  NotHonored: number;
}

/** The fields the bench's subscription selects, computed as our gateway computes them. */
function importStatusJson(state: UpstreamState): string {
  const status = state.Status.toUpperCase();
  const handled = state.Processed + state.Exceptions + state.NotHonored;
  const active = status === 'QUEUED' || status === 'PROCESSING';
  const progress = status === 'COMPLETED' ? 1 : active && state.ValidationSuccessful > 0 ? handled / state.ValidationSuccessful : 0;
  return JSON.stringify({
    data: {
      importStatus: {
        accessToken: String(state.AccessToken),
        status,
        isTerminal: status === 'COMPLETED' || status === 'FAILED',
        totalRecordsReceived: state.TotalRecordsReceived,
        processed: state.Processed,
        pending: state.Pending,
        exceptions: state.Exceptions,
        progress,
      },
    },
  });
}

interface Subscriber {
  socket: WebSocket;
  id: string;
}

/** One import: its subscribers, its last state (as a payload), its one poller. */
class WatchedImport {
  readonly subscribers = new Set<Subscriber>();
  #lastBody: string | undefined;
  #payload: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #finished = false;

  constructor(
    readonly url: string,
    readonly authorization: string,
    readonly onFinished: () => void,
  ) {}

  add(subscriber: Subscriber): void {
    this.subscribers.add(subscriber);
    if (this.#payload !== undefined) send(subscriber, this.#payload);
    if (this.#timer === undefined && !this.#finished) void this.#poll();
  }

  async #poll(): Promise<void> {
    this.#timer = setTimeout(() => void this.#poll(), intervalMs);
    try {
      const response = await request(this.url, { headers: { authorization: this.authorization } });
      const body = await response.body.text();
      if (response.statusCode !== 200 || body === this.#lastBody) return;
      this.#lastBody = body;
      const state = JSON.parse(body) as UpstreamState;
      this.#payload = importStatusJson(state);
      for (const subscriber of this.subscribers) send(subscriber, this.#payload);
      if (state.Status === 'Completed' || state.Status === 'Failed') this.#finish();
    } catch {
      // the next interval tries again
    }
  }

  #finish(): void {
    this.#finished = true;
    clearTimeout(this.#timer);
    for (const { socket, id } of this.subscribers) socket.send(`{"id":${JSON.stringify(id)},"type":"complete"}`);
    this.subscribers.clear();
    this.onFinished();
  }
}

/** The id spliced into a frame built around the payload serialised once. */
function send({ socket, id }: Subscriber, payload: string): void {
  socket.send(`{"id":${JSON.stringify(id)},"type":"next","payload":${payload}}`);
}

const imports = new Map<string, WatchedImport>();

/** Adds a subscriber; returns how to remove it. */
function subscribe(socket: WebSocket, authorization: string, id: string, variables: { clientId: string; accessToken: string }): () => void {
  const key = `${authorization}\n${variables.clientId}\n${variables.accessToken}`;
  let watched = imports.get(key);
  if (!watched) {
    const url = `${baseUrl}Async/${encodeURIComponent(variables.clientId)}/Import/${encodeURIComponent(variables.accessToken)}/Status`;
    watched = new WatchedImport(url, authorization, () => imports.delete(key));
    imports.set(key, watched);
  }
  const subscriber = { socket, id };
  const subscribers = watched.subscribers;
  watched.add(subscriber);
  return () => subscribers.delete(subscriber);
}

const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'floor_gateway_' });

const server = createServer((incoming, response) => {
  if (incoming.url === '/metrics') {
    void registry.metrics().then((text) => {
      response.writeHead(200, { 'content-type': registry.contentType });
      response.end(text);
    });
    return;
  }
  response.writeHead(404).end();
});

const wss = new WebSocketServer({ server, path: '/graphql', perMessageDeflate: false });
wss.on('connection', (socket) => {
  let authorization = '';
  const unsubscribers = new Map<string, () => void>();
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as { type: string; id?: string; payload?: Record<string, any> };
    switch (message.type) {
      case 'connection_init':
        authorization = String(message.payload?.['authorization'] ?? '');
        socket.send('{"type":"connection_ack"}');
        return;
      case 'ping':
        socket.send('{"type":"pong"}');
        return;
      case 'subscribe':
        unsubscribers.set(message.id!, subscribe(socket, authorization, message.id!, message.payload?.['variables']));
        return;
      case 'complete':
        unsubscribers.get(message.id!)?.();
        unsubscribers.delete(message.id!);
        return;
    }
  });
  socket.on('close', () => {
    for (const unsubscribe of unsubscribers.values()) unsubscribe();
  });
});

// The same accept backlog as ours (src/gateway/gateway.ts): a storm must not measure the kernel's queue.
server.listen(port, '127.0.0.1', 4096, () => {
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  process.stdout.write(`${JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${bound}/graphql` })}\n`);
});

const stop = () => process.exit(0);
process.on('disconnect', stop);
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
