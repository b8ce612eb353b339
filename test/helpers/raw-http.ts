import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
}

/**
 * Connects to `origin` (`http://host:port`) and writes a POST's head declaring `length` body
 * bytes to `path`. The connection is half-open: the server's FIN does not end our side, so we may
 * go on sending as a stubborn client would.
 */
export function openPost(origin: string, path: string, length: number, headers: Record<string, string>, register: (dispose: () => unknown) => void): Socket {
  const { hostname, port } = new URL(origin);
  const socket = connect({ port: Number(port), host: hostname, allowHalfOpen: true });
  register(() => socket.destroy());
  const lines = Object.entries({ host: `${hostname}:${port}`, 'content-type': 'application/json', 'content-length': String(length), ...headers });
  socket.write(`POST ${path} HTTP/1.1\r\n${lines.map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`);
  return socket;
}

/**
 * Sends a whole POST, head and body, and reads the answer only once all of it was written — as
 * Python's http.client or Java's HttpURLConnection do. Rejects with the socket's error (EPIPE,
 * ECONNRESET) when the server resets the connection before it has taken the whole body.
 */
export function postThenRead(
  origin: string,
  path: string,
  body: Buffer,
  headers: Record<string, string>,
  register: (dispose: () => unknown) => void,
): Promise<RawAnswer> {
  const socket = openPost(origin, path, body.length, headers, register);
  // Nothing is handed to us before the whole body is written: an answer that arrives early waits.
  socket.pause();
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.write(body, (error) => {
      if (error) return; // reported by 'error'
      resolve(readAnswer(socket));
    });
  });
}

/** Reads an HTTP/1.1 answer with a Content-Length from `socket`: resolves once all of it has arrived, whether or not the connection then closes. */
export function readAnswer(socket: Socket): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const answer = completeAnswer(received);
      if (!answer) return;
      socket.off('data', onData);
      resolve(answer);
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`closed before a whole answer: ${JSON.stringify(received.toString().slice(0, 200))}`)));
    socket.resume();
  });
}

/** The answer in `received`, once its head and its Content-Length of body are all there. */
function completeAnswer(received: Buffer): RawAnswer | undefined {
  const split = received.indexOf('\r\n\r\n');
  if (split === -1) return undefined;
  const [statusLine = '', ...headerLines] = received.subarray(0, split).toString().split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = received.subarray(split + 4);
  if (body.length < Number(headers['content-length'])) return undefined;
  return { status: Number(statusLine.split(' ')[1]), headers, body: body.toString() };
}
