import { connect, createServer, type Socket } from 'node:net';

export interface CuttingProxy {
  /** `http://127.0.0.1:PORT`: the origin the browser uses instead of the gateway's. */
  origin: string;
  /** Resolves when the first PATCH has been cut, with the bytes of it (request line and headers included) that went through. */
  cut: Promise<number>;
}

/** A request line that starts a request worth cutting. */
const PATCH_LINE = Buffer.from('PATCH /uploads/');

/**
 * A TCP proxy in front of the gateway that passes everything through (the page, GraphQL,
 * WebSockets, uploads) except the first tus `PATCH`: after `cutAfterBytes` of it have passed, it
 * closes both sides of that connection at once, the gateway's with those bytes delivered (so it
 * sees a body that stops short) and the browser's with a reset (so the request fails as on a
 * dropped network). Whatever the browser does next (tus-js-client's retry: HEAD, then PATCH from
 * the gateway's offset) passes untouched.
 *
 * It watches the bytes from the browser for `PATCH /uploads/`, which no request line other than
 * an upload's starts with and no NDJSON record contains.
 */
export async function startCuttingProxy(
  target: { port: number; host: string },
  cutAfterBytes: number,
  register: (dispose: () => unknown) => void,
): Promise<CuttingProxy> {
  let cutDone: (bytes: number) => void;
  const cut = new Promise<number>((resolve) => (cutDone = resolve));
  let armed = true;
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {}); // a reset is what this proxy is for
  };

  const server = createServer((browser) => {
    const gateway = connect(target);
    track(browser);
    track(gateway);
    gateway.pipe(browser);
    gateway.on('close', () => browser.destroy());
    // Once cut, the gateway's side closes after the bytes passed (end, not destroy, which would drop them).
    let cutHere = false;
    browser.on('close', () => cutHere || gateway.destroy());
    // Bytes of the PATCH being counted on this connection (undefined: none seen yet), and the
    // tail of the last chunk, so that a request line split across two chunks is still found.
    let counted: number | undefined;
    let tail = Buffer.alloc(0);
    browser.on('data', (chunk: Buffer) => {
      if (armed && counted === undefined) {
        const seen = Buffer.concat([tail, chunk]);
        const at = seen.indexOf(PATCH_LINE);
        if (at >= 0) counted = -(at - tail.length); // bytes of this chunk before the request line do not count
        tail = seen.subarray(Math.max(0, seen.length - PATCH_LINE.length));
      }
      if (!armed || counted === undefined) return void gateway.write(chunk);
      const allowed = cutAfterBytes - counted;
      if (chunk.length < allowed) {
        counted += chunk.length;
        return void gateway.write(chunk);
      }
      armed = false;
      cutHere = true;
      gateway.end(chunk.subarray(0, allowed));
      browser.resetAndDestroy();
      cutDone(cutAfterBytes);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  register(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('the proxy has no port');
  return { origin: `http://127.0.0.1:${address.port}`, cut };
}
