import type { RejectedLine } from '../store/import-jobs.js';
import type { UploadItem } from './upload-items.js';

/** One Stage body's worth of an upload: the records, and the stretch of the upload they cover. */
export interface StageBatch {
  /** `{"UserProfilePreferences":[…]}`, the records' own bytes spliced in; empty when `records` is 0. */
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
const COMMA = Buffer.from(',');

/**
 * Packs records into Stage bodies as full as `maxBodyBytes` allows, and hands each to `send` —
 * one at a time: the next body is packed while the previous one is being sent (two bodies in
 * memory at most), and is sent only once that one is done, so the upload is read no faster than
 * the upstream takes it. A stretch holding only rejected lines is handed on without records (the
 * checkpoint moves past it; no Stage call). Resolves with where the upload stands after the last
 * stretch, which ends at the last item whose end is known.
 */
export async function packStageBodies(
  items: AsyncIterable<UploadItem>,
  start: { offset: number; lines: number },
  maxBodyBytes: number,
  send: (batch: StageBatch) => Promise<void>,
): Promise<{ offset: number; lines: number }> {
  let sending: Promise<void> | undefined;
  let batch = emptyBatch(start.offset, start.lines);
  let parts: Buffer[] = [];
  let bytes = PREFIX.length + SUFFIX.length;
  /** Rejected lines whose end is not known yet (CSV): they join the stretch of the next item that has one. */
  let unplaced: RejectedLine[] = [];

  const dispatch = async () => {
    if (batch.toOffset === batch.fromOffset) return;
    if (batch.records > 0) batch.body = Buffer.concat([PREFIX, ...parts, SUFFIX]);
    const ready = batch;
    batch = emptyBatch(ready.toOffset, ready.toLine);
    parts = [];
    bytes = PREFIX.length + SUFFIX.length;
    await sending;
    sending = send(ready);
    // Seen by the next dispatch, or by the final await; not left unhandled while packing goes on.
    sending.catch(() => {});
  };

  for await (const item of items) {
    if (item.kind === 'record') {
      if (batch.records > 0 && bytes + COMMA.length + item.json.length > maxBodyBytes) await dispatch();
      if (batch.records > 0) {
        parts.push(COMMA);
        bytes += COMMA.length;
      }
      parts.push(item.json);
      bytes += item.json.length;
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
  await dispatch();
  await sending;
  return { offset: batch.fromOffset, lines: batch.toLine };
}

function emptyBatch(offset: number, lines: number): StageBatch {
  return { body: Buffer.alloc(0), records: 0, fromOffset: offset, toOffset: offset, toLine: lines, rejections: [] };
}
