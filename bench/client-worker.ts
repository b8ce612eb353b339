/**
 * A client process of the bench: opens many WebSocket connections to a gateway and multiplexes
 * subscriptions over each one (graphql-transport-ws, spoken directly over `ws` to keep the
 * client's own cost per message small), and stamps every `next` it receives with the wall clock
 * (`performance.timeOrigin + performance.now()`).
 *
 * IPC protocol (parent → worker): `start` {wsUrls, authorization, query, clientId, tokens, replicas,
 * perConnection} (one subscription per entry of `tokens`), `mark` (from now on counts as the active phase),
 * `report`. Worker → parent: `ready`, `subscribed` (every subscription has its first result or
 * ended), `done` (every subscription ended), `report` {@link WorkerReport}.
 */
import WebSocket from 'ws';

export interface StartCommand {
  type: 'start';
  /** The gateway's replicas (one for a single process). */
  wsUrls: string[];
  authorization: string;
  query: string;
  clientId: string;
  /** One subscription per entry: the accessToken it watches. */
  tokens: string[];
  /** For each subscription, the index in `wsUrls` its connection goes to (a connection goes where its first subscription does). */
  replicas: number[];
  perConnection: number;
}

/** Receipts of one distinct state of one import, over all of this worker's subscribers. */
export interface StateReceipts {
  token: string;
  state: string;
  /** Wall-clock receipt times, ms. */
  receipts: Float64Array;
}

export interface WorkerReport {
  type: 'report';
  subscriptions: number;
  /** Subscriptions that received at least one result. */
  subscribed: number;
  /** The same when `mark` arrived (the idle memory reading is taken just before). */
  subscribedAtMark: number;
  /** Subscriptions the server completed. */
  completed: number;
  /** Subscriptions that ended with an error message, a closed connection or a failed connect. */
  failed: number;
  /** `next` messages received, and those received after `mark`. */
  nextTotal: number;
  nextActive: number;
  /** First distinct error texts, for the report. */
  errors: string[];
  states: StateReceipts[];
}

const now = () => performance.timeOrigin + performance.now();

interface Subscription {
  token: string;
  /** Received at least one result. */
  received: boolean;
  /** Counted as settled for `subscribed`: received one, or ended without. */
  settled: boolean;
  ended: boolean;
}

function run(command: StartCommand): void {
  const subscriptions = command.tokens.map((token): Subscription => ({ token, received: false, settled: false, ended: false }));
  const receipts = new Map<string, { token: string; state: string; times: number[] }>();
  const errors = new Set<string>();
  let marked = false;
  let subscribedAtMark = 0;
  let nextTotal = 0;
  let nextActive = 0;
  let firstPending = subscriptions.length;
  let openPending = subscriptions.length;
  let sentSubscribed = false;

  const noteError = (text: string) => {
    if (errors.size < 10) errors.add(text.slice(0, 300));
  };
  const checkProgress = () => {
    if (!sentSubscribed && firstPending === 0) {
      sentSubscribed = true;
      process.send?.({ type: 'subscribed' });
    }
    if (openPending === 0) process.send?.({ type: 'done' });
  };
  const end = (sub: Subscription) => {
    if (sub.ended) return;
    sub.ended = true;
    openPending -= 1;
    if (!sub.settled) {
      sub.settled = true;
      firstPending -= 1;
    }
  };
  let failed = 0;
  let completed = 0;

  for (let start = 0; start < subscriptions.length; start += command.perConnection) {
    const group = subscriptions.slice(start, start + command.perConnection);
    const socket = new WebSocket(command.wsUrls[command.replicas[start]!]!, 'graphql-transport-ws', { perMessageDeflate: false });
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: command.authorization } })));
    socket.on('error', (error) => noteError(`socket: ${error.message}`));
    socket.on('close', (code, reason) => {
      const open = group.filter((sub) => !sub.ended);
      if (open.length === 0) return;
      noteError(`connection closed ${code} ${reason.toString()}`);
      failed += open.length;
      for (const sub of open) end(sub);
      checkProgress();
    });
    socket.on('message', (data: Buffer) => {
      const at = now();
      const message = JSON.parse(data.toString()) as { type: string; id?: string; payload?: any };
      switch (message.type) {
        case 'connection_ack':
          group.forEach((sub, index) => {
            socket.send(
              JSON.stringify({
                id: String(index),
                type: 'subscribe',
                payload: { query: command.query, variables: { clientId: command.clientId, accessToken: sub.token } },
              }),
            );
          });
          return;
        case 'ping':
          socket.send('{"type":"pong"}');
          return;
        case 'next': {
          const sub = group[Number(message.id)];
          if (!sub) return;
          nextTotal += 1;
          if (marked) nextActive += 1;
          const state = message.payload?.data?.importStatus as Record<string, unknown> | undefined;
          if (!state) {
            noteError(`next without data: ${JSON.stringify(message.payload?.errors ?? message.payload)}`);
          } else {
            const key = `${sub.token}|${String(state['status'])}:${String(state['processed'])}:${String(state['exceptions'])}:${String(state['pending'])}`;
            let entry = receipts.get(key);
            if (!entry) {
              entry = { token: sub.token, state: key.slice(sub.token.length + 1), times: [] };
              receipts.set(key, entry);
            }
            entry.times.push(at);
          }
          sub.received = true;
          if (!sub.settled) {
            sub.settled = true;
            firstPending -= 1;
            checkProgress();
          }
          return;
        }
        case 'error': {
          const sub = group[Number(message.id)];
          noteError(`error: ${JSON.stringify(message.payload)}`);
          if (sub && !sub.ended) {
            failed += 1;
            end(sub);
            checkProgress();
          }
          return;
        }
        case 'complete': {
          const sub = group[Number(message.id)];
          if (sub && !sub.ended) {
            completed += 1;
            end(sub);
            checkProgress();
          }
          return;
        }
      }
    });
  }

  checkProgress(); // a worker with nothing to do is subscribed and done at once

  process.on('message', (message: { type?: string }) => {
    if (message?.type === 'mark') {
      marked = true;
      subscribedAtMark = subscriptions.filter((sub) => sub.received).length;
      if (openPending === 0) process.send?.({ type: 'done' }); // in case every subscription already ended
    }
    if (message?.type === 'report') {
      const report: WorkerReport = {
        type: 'report',
        subscriptions: subscriptions.length,
        subscribed: subscriptions.filter((sub) => sub.received).length,
        subscribedAtMark,
        completed,
        failed,
        nextTotal,
        nextActive,
        errors: [...errors],
        states: [...receipts.values()].map(({ token, state, times }) => ({ token, state, receipts: Float64Array.from(times) })),
      };
      process.send?.(report);
    }
  });
}

process.once('message', (message: StartCommand) => {
  if (message?.type === 'start') run(message);
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready' });
