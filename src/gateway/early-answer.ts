import type { IncomingMessage, ServerResponse } from 'node:http';

/** How much of a refused request's body is read and thrown away, at most, before its connection is closed. */
export interface UnreadBodyDrain {
  /** Body bytes discarded at most; one more and the connection is destroyed. */
  maxBytes: number;
  /** How long the connection may stay open after the answer; then it is destroyed. */
  maxMs: number;
}

export interface EarlyAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Answers a request whose body the gateway will not read, in a way the answer survives.
 *
 * `response.end()` is not enough: with `Connection: close`, Node destroys the socket as soon as
 * the answer is handed to the kernel, while the client may still be sending its body. Closing a
 * socket with unread data makes the kernel send a reset instead of a FIN, discarding whatever of
 * the answer it had not sent yet; and a client still writing gets EPIPE or ECONNRESET from its
 * write and may never read the answer. One that writes its whole body before reading (Python's
 * http.client, Java's HttpURLConnection) loses it every time the body outgrows the socket buffers.
 *
 * So, like nginx's lingering close: the whole answer is written at once (clients that read while
 * they send — curl, undici, node:http — stop sending on it), the rest of the body is
 * read and discarded, and only once it has all arrived is the response ended, which closes the
 * connection cleanly. Past `drain`'s bytes or time the socket is destroyed instead: reading and
 * discarding costs no memory, and neither an endless body nor a slow trickle holds the socket
 * longer than the bound.
 */
export function sendEarlyAnswer(request: IncomingMessage, response: ServerResponse, answer: EarlyAnswer, drain: UnreadBodyDrain): void {
  const { socket } = request;
  if (socket.destroyed) return; // the client is gone: nobody to answer, nothing to drain
  const body = Buffer.from(answer.body);
  response.writeHead(answer.status, { ...answer.headers, connection: 'close', 'content-length': String(body.length) });
  // The whole answer, but not `end()` yet: ending is what lets Node close the socket under the body.
  response.write(body);

  const cut = () => socket.destroy();
  const deadline = setTimeout(cut, drain.maxMs).unref();
  let discarded = 0;
  request.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > drain.maxBytes) cut();
  });
  // Nothing unread remains: Node's close after the response is a FIN, not a reset.
  request.once('end', () => response.end());
  socket.once('close', () => clearTimeout(deadline));
  request.resume();
}
