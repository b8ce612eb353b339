import { Readable } from 'node:stream';
import { type CsvError, type Info, parse } from 'csv-parse';
import { type ParseStart, REJECTION, type UploadItem } from './upload-items.js';

/**
 * CSV with a header row of record paths (`ProfileId`, `Emails.0.EmailAddress`), parsed as a stream
 * by csv-parse (RFC 4180: quoted fields may hold commas, quotes and line breaks). Each row becomes
 * a nested record:
 * - a path segment that is a whole number is an array index (`Emails.0.EmailAddress`);
 * - an empty cell leaves its field out;
 * - `true` and `false` (any case) are booleans; every other value stays a string (ids with leading
 *   zeros, phone numbers and dates are not numbers).
 * A row whose cell count differs from the header's, or whose quoting is broken, is rejected. A
 * resumed upload starts past the header, so the header's paths are kept with the job
 * (`columns`, from the checkpoint).
 */

/** What the CSV parser reports besides items: the header, once read. */
export interface CsvHeader {
  columns: string[];
}

/** Header names: dot-separated segments of letters, digits and underscores. */
const PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/;

/** A CSV upload that cannot go on: a header that cannot name record fields, a line longer than the limit. */
export class CsvUploadError extends Error {}

/** Parses the header row into record paths; throws {@link CsvUploadError} naming what is wrong. */
function headerColumns(cells: readonly string[]): string[] {
  const columns = cells.map((cell) => cell.trim());
  const bad = columns.find((column) => !PATH.test(column));
  if (bad !== undefined)
    throw new CsvUploadError(`The CSV header's column ${JSON.stringify(bad.slice(0, 100))} is not a record path such as Emails.0.EmailAddress.`);
  const seen = new Set<string>();
  for (const column of columns) {
    if (seen.has(column)) throw new CsvUploadError(`The CSV header names ${JSON.stringify(column)} twice.`);
    seen.add(column);
  }
  return columns;
}

export async function* csvRecords(
  chunks: AsyncIterable<Buffer>,
  start: ParseStart,
  known: string[] | null,
  onHeader: (header: CsvHeader) => void,
): AsyncGenerator<UploadItem[]> {
  for await (const item of csvItems(chunks, start, known, onHeader)) yield [item];
}

async function* csvItems(
  chunks: AsyncIterable<Buffer>,
  start: ParseStart,
  known: string[] | null,
  onHeader: (header: CsvHeader) => void,
): AsyncGenerator<UploadItem> {
  let columns = known;
  const skipped: UploadItem[] = [];
  let bytesRead = 0;
  // Bytes are handed on only up to the last line break: a line cut by the end of a PATCH is not a
  // row (unless the upload ends there), and is read again from the checkpoint by the next one.
  const wholeLines = Readable.from(
    (async function* () {
      let held: Buffer | undefined;
      for await (const chunk of chunks) {
        bytesRead += chunk.length;
        const joined = held ? Buffer.concat([held, chunk]) : chunk;
        const cut = joined.lastIndexOf(0x0a) + 1;
        held = cut < joined.length ? Buffer.from(joined.subarray(cut)) : undefined;
        if (held && held.length > start.maxLineBytes) {
          throw new CsvUploadError(REJECTION.tooLong(start.maxLineBytes));
        }
        if (cut > 0) yield joined.subarray(0, cut);
      }
      if (held && start.final(bytesRead)) yield held;
    })(),
  );
  const parser = wholeLines.pipe(
    parse({
      bom: true,
      info: true,
      relax_column_count: true,
      skip_records_with_error: true,
      max_record_size: start.maxLineBytes,
      on_skip: (error: CsvError | undefined) => {
        skipped.push({ kind: 'rejected', line: start.lines + Number(error?.lines ?? 0), reason: error?.message ?? 'malformed CSV', end: undefined });
      },
    }),
  );
  wholeLines.on('error', (error) => parser.destroy(error));
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: Info }>) {
      yield* skipped.splice(0);
      const line = start.lines + info.lines;
      const end = start.offset + info.bytes;
      if (columns === null) {
        columns = headerColumns(record);
        onHeader({ columns });
        continue;
      }
      if (record.length !== columns.length) {
        yield { kind: 'rejected', line, reason: `${record.length} cells where the header has ${columns.length}`, end };
        continue;
      }
      yield { kind: 'record', json: Buffer.from(JSON.stringify(nestedRecord(columns, record))), line, end };
    }
  } catch (error) {
    // A row cut by the end of a PATCH inside a quoted field: the checkpoint stays before it.
    if (error instanceof CsvUploadError || start.final(bytesRead)) throw error;
  }
  yield* skipped.splice(0);
}

/** One row as a nested record, by the header's paths. */
export function nestedRecord(columns: readonly string[], cells: readonly string[]): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  columns.forEach((column, index) => {
    const cell = cells[index] ?? '';
    if (cell === '') return;
    const segments = column.split('.');
    let node: Record<string, unknown> | unknown[] = record;
    segments.forEach((segment, depth) => {
      const last = depth === segments.length - 1;
      const key: string | number = /^\d+$/.test(segment) ? Number(segment) : segment;
      const container = node as Record<string | number, unknown>;
      if (last) {
        container[key] = cellValue(cell);
        return;
      }
      const nextIsIndex = /^\d+$/.test(segments[depth + 1]!);
      container[key] ??= nextIsIndex ? [] : {};
      node = container[key] as Record<string, unknown> | unknown[];
    });
  });
  return record;
}

function cellValue(cell: string): string | boolean {
  const lower = cell.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  return cell;
}
