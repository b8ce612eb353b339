import type { RejectedLine } from '../store/import-jobs.js';
import type { UploadItem } from './upload-items.js';

/** One Stage body's worth of an upload: the records, and the stretch of the upload they cover. */
export interface StageBatch {
  /** `{"UserProfilePreferences":[…]}`, the records' own bytes copied in; empty when `records` is 0. */
  body: Buffer;
  records: number;
  /** The upload offset the stretch starts at (the checkpoint before it) and ends at. */
  fromOffset: number;
  toOffset: number;
  /** Lines up to `toOffset`. */
  toLine: number;
  rejections: RejectedLine[];
}

const PREFIX = Buffer.from('{"UserProfilePreferences":[');
const SUFFIX = Buffer.from(']}');
const COMMA = 0x2c;

/**
 * Buffers a Stage body is packed into, each as large as the largest body, kept for the next one:
 * a body's memory is taken once and reused, instead of every body being gathered from the socket
 * chunks its records came in (which it would keep alive) and then copied whole.
 */
export class BodyBuffers {
  readonly #size: number;
  readonly #keep: number;
  readonly #free: Buffer[] = [];

  /** Buffers of `size` bytes; at most `keep` free ones are kept (the rest are left to the collector). */
  constructor(size: number, keep: number) {
    this.#size = size;
    this.#keep = keep;
  }

  get size(): number {
    return this.#size;
  }

  take(): Buffer {
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(this.#size);
  }

  give(buffer: Buffer): void {
    if (this.#free.length < this.#keep) this.#free.push(buffer);
  }
}

/**
 * Packs records into Stage bodies as full as the buffers allow, and hands each to `send` — one at
 * a time: the next body is packed while the previous one is being sent (two bodies in memory at
 * most), and is sent only once that one is done, so the upload is read no faster than the
 * upstream takes it. A stretch holding only rejected lines is handed on without records (the
 * checkpoint moves past it; no Stage call). Resolves with where the upload stands after the last
 * stretch, which ends at the last item whose end is known.
 */
export async function packStageBodies(
  items: AsyncIterable<readonly UploadItem[]>,
  start: { offset: number; lines: number },
  buffers: BodyBuffers,
  send: (batch: StageBatch) => Promise<void>,
): Promise<{ offset: number; lines: number }> {
  const maxBodyBytes = buffers.size;
  let sending: Promise<void> | undefined;
  let batch = emptyBatch(start.offset, start.lines);
  let buffer = buffers.take();
  let length = PREFIX.copy(buffer, 0);
  /** Rejected lines whose end is not known yet (CSV): they join the stretch of the next item that has one. */
  let unplaced: RejectedLine[] = [];

  const dispatch = async () => {
    if (batch.toOffset === batch.fromOffset) return;
    const ready = batch;
    const full = ready.records > 0 ? buffer : undefined;
    if (full) ready.body = full.subarray(0, length + SUFFIX.copy(full, length));
    batch = emptyBatch(ready.toOffset, ready.toLine);
    // The buffer being sent is given back once its call is done: two per upload at most.
    await sending;
    sending = send(ready).finally(() => full && buffers.give(full));
    // Seen by the next dispatch, or by the final await; not left unhandled while packing goes on.
    sending.catch(() => {});
    if (full) {
      buffer = buffers.take();
      length = PREFIX.copy(buffer, 0);
    }
  };

  try {
    for await (const chunk of items) {
      for (const item of chunk) {
        if (item.kind === 'record') {
          const separator = batch.records > 0 ? 1 : 0;
          if (separator === 1 && length + 1 + item.json.length + SUFFIX.length > maxBodyBytes) await dispatch();
          if (batch.records > 0) buffer[length++] = COMMA;
          length += item.json.copy(buffer, length);
          batch.records++;
        } else {
          unplaced.push({ line: item.line, reason: item.reason });
        }
        if (item.end !== undefined) {
          batch.rejections.push(...unplaced);
          unplaced = [];
          batch.toOffset = item.end;
          batch.toLine = item.line;
        }
      }
    }
    await dispatch();
    await sending;
  } finally {
    buffers.give(buffer);
  }
  return { offset: batch.fromOffset, lines: batch.toLine };
}

function emptyBatch(offset: number, lines: number): StageBatch {
  return { body: Buffer.alloc(0), records: 0, fromOffset: offset, toOffset: offset, toLine: lines, rejections: [] };
}
