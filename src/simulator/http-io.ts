/**
 * Low-level request/response helpers: bounded body reading that always drains, and JSON answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LIMITS } from '../mypreferences-contract.js';

/** Content type of every simulator answer. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * Past this many bytes a request body is not even drained: the connection is destroyed, so a
 * runaway client cannot keep the simulator reading forever.
 */
const DRAIN_LIMIT_BYTES = LIMITS.stageBytesHardMax + 1024 * 1024;

/** The outcome of reading a request body. */
export type BodyResult =
  | { kind: 'ok'; body: Buffer }
  /** Over `maxBytes`; the body was drained (not kept) so a response can still be sent. */
  | { kind: 'too-large'; bytes: number }
  /** The connection ended or was destroyed before the body did; no response can be sent. */
  | { kind: 'aborted' };

/**
 * Reads the request body, keeping at most `maxBytes`. Once over the limit it stops buffering but
 * keeps reading, so the client gets a 413 rather than a reset; past {@link DRAIN_LIMIT_BYTES} it
 * destroys the connection.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    let chunks: Buffer[] = [];
    let bytes = 0;
    let settled = false;
    const settle = (result: BodyResult): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.off('error', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      bytes += chunk.length;
      if (bytes > DRAIN_LIMIT_BYTES) {
        req.socket.destroy();
        settle({ kind: 'aborted' });
      } else if (bytes > maxBytes) {
        chunks = [];
      } else {
        chunks.push(chunk);
      }
    };
    const onEnd = (): void => {
      settle(bytes > maxBytes ? { kind: 'too-large', bytes } : { kind: 'ok', body: Buffer.concat(chunks, bytes) });
    };
    const onClose = (): void => {
      if (!req.complete) settle({ kind: 'aborted' });
    };
    if (req.readableEnded) {
      settle({ kind: 'ok', body: Buffer.alloc(0) });
      return;
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
    req.on('error', onClose);
  });
}

/** The first value of a request header (Node joins most repeated headers, not all). */
export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Writes a complete JSON response. */
export function writeJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': JSON_CONTENT_TYPE,
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}
