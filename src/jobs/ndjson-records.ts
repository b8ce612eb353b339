import { jsonObjectCheck } from './json-object-check.js';
import { type ParseStart, REJECTION, type UploadItem } from './upload-items.js';

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * NDJSON, one record object a line, read as the bytes arrive. Each line is checked in place by
 * `jsonObjectCheck` (JSON.parse's acceptance, nothing decoded or allocated; a record must be a
 * JSON object) and then passed on as its own bytes — never re-serialised. A line longer than `maxLineBytes` is skipped as it streams past, never held.
 * A last line without a line ending is a line only when the body ends the upload; otherwise it
 * is left for the next PATCH (the checkpoint stops before it).
 */
export async function* ndjsonRecords(chunks: AsyncIterable<Buffer>, start: ParseStart): AsyncGenerator<UploadItem[]> {
  let offset = start.offset;
  let line = start.lines;
  /** Bytes of the line being read, from earlier chunks. */
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  /** The line being read is too long: its bytes are dropped until its end. */
  let skipping = false;
  let bytesRead = 0;

  const finish = (parts: Buffer[], length: number, end: number): UploadItem => {
    line++;
    if (skipping) {
      skipping = false;
      return { kind: 'rejected', line, reason: REJECTION.tooLong(start.maxLineBytes), end };
    }
    return lineItem(parts.length === 1 ? parts[0]! : Buffer.concat(parts, length), line, end);
  };

  for await (const chunk of chunks) {
    bytesRead += chunk.length;
    // A chunk's lines are handed on together: one step of the pipeline per chunk, not per line.
    const items: UploadItem[] = [];
    let from = 0;
    for (let newline = chunk.indexOf(NEWLINE); newline !== -1; newline = chunk.indexOf(NEWLINE, from)) {
      const piece = chunk.subarray(from, newline);
      const length = pendingBytes + piece.length;
      if (!skipping && length > start.maxLineBytes) skipping = true;
      const end = offset + (newline + 1);
      items.push(finish(skipping ? [] : pending.length === 0 ? [piece] : [...pending, piece], length, end));
      pending = [];
      pendingBytes = 0;
      from = newline + 1;
    }
    const rest = chunk.subarray(from);
    if (!skipping && pendingBytes + rest.length > start.maxLineBytes) {
      skipping = true;
      pending = [];
      pendingBytes = 0;
    }
    if (!skipping && rest.length > 0) {
      // A copy: the chunk's memory belongs to the stream, and the rest of it is not kept.
      pending.push(Buffer.from(rest));
      pendingBytes += rest.length;
    }
    offset += chunk.length;
    if (items.length > 0) yield items;
  }
  if ((pendingBytes > 0 || skipping) && start.final(bytesRead)) yield [finish(pending, pendingBytes, offset)];
}

function lineItem(bytes: Buffer, line: number, end: number): UploadItem {
  let length = bytes.length;
  if (length > 0 && bytes[length - 1] === CARRIAGE_RETURN) length--;
  // A byte-order mark may open the file; JSON would refuse it.
  const from = line === 1 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const check = jsonObjectCheck(bytes, from, length);
  if (check === 'object') return { kind: 'record', json: bytes.subarray(from, length), line, end };
  if (check === 'not-object') return { kind: 'rejected', line, reason: REJECTION.notObject, end };
  if (check === 'too-deep') return { kind: 'rejected', line, reason: REJECTION.tooDeep, end };
  // Only a line already refused is decoded: blank by String.prototype.trim's measure (which
  // knows more whitespace than JSON) is the empty line it always was.
  if (bytes.toString('utf8', from, length).trim() === '') return { kind: 'rejected', line, reason: REJECTION.empty, end };
  return { kind: 'rejected', line, reason: REJECTION.notJson, end };
}
