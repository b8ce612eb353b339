import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A delivery as the receiver got it. */
export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
}

export interface WebhookReceiver {
  url: string;
  /** `host:port`, for WEBHOOK_ALLOWED_HOSTS. */
  host: string;
  received: ReceivedWebhook[];
  /** Resolves when `count` deliveries have arrived. */
  receivedCount(count: number): Promise<void>;
  /** The statuses to answer, in order; then 204. */
  answers: number[];
  /** While true, requests are read and left unanswered (a delivery in the middle of its attempt). */
  hold: boolean;
  /** Resolves when `count` requests have arrived, answered or held. */
  arrivedCount(count: number): Promise<void>;
  /** Requests arrived so far, answered or held. */
  arrivals(): number;
}

/** An HTTP endpoint the test runs, recording every delivery (no sleeps: tests wait on `receivedCount`). */
export async function startWebhookReceiver(register: (dispose: () => unknown) => void): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const answers: number[] = [];
  let arrived = 0;
  const arrivals: { count: number; resolve: () => void }[] = [];
  const receiver = { hold: false };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      arrived++;
      for (const waiter of arrivals.filter((w) => arrived >= w.count)) {
        arrivals.splice(arrivals.indexOf(waiter), 1);
        waiter.resolve();
      }
      if (receiver.hold) return;
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(answers.shift() ?? 204).end();
      for (const waiter of waiters.filter((w) => received.length >= w.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  register(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}/hooks/imports`,
    host: `127.0.0.1:${port}`,
    received,
    answers,
    receivedCount: (count: number) => (received.length >= count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ count, resolve }))),
    arrivals: () => arrived,
    arrivedCount: (count: number) => (arrived >= count ? Promise.resolve() : new Promise<void>((resolve) => arrivals.push({ count, resolve }))),
  });
}
