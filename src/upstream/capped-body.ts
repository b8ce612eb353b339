import type { Dispatcher } from 'undici';

/** A body longer than the reader's limit: the rest was not read and the stream was destroyed. */
export class BodyTooLarge extends Error {
  override readonly name = 'BodyTooLarge';
}

/**
 * Reads a whole response body (so the connection returns to the pool) as UTF-8 text, refusing
 * more than `limit` bytes: past it the stream is destroyed and {@link BodyTooLarge} thrown, so an
 * upstream can never make the gateway hold more than the limit.
 */
export async function readCappedBody(body: Dispatcher.ResponseData['body'], limit: number): Promise<{ text: string; bytes: number }> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > limit) {
      body.destroy();
      throw new BodyTooLarge();
    }
    chunks.push(chunk);
  }
  return { text: Buffer.concat(chunks, bytes).toString('utf8'), bytes };
}
