import { MAX_JSON_DEPTH } from './json-object-check.js';

/**
 * What a record parser makes of an upload's bytes: records to stage, lines that are not records,
 * and where each ends in the upload (so the checkpoint can move past it).
 */

/** A record, as the JSON text that goes into a Stage body verbatim. */
export interface RecordItem {
  kind: 'record';
  json: Buffer;
  /** Its (last) line number, 1-based over the whole upload. */
  line: number;
  /** The upload offset just past it (its line ending included): a place an upload may resume from. */
  end: number;
}

/** A line that is not a record: counted, listed, never sent. */
export interface RejectedItem {
  kind: 'rejected';
  line: number;
  reason: string;
  /** The upload offset just past it, when the parser knows one (NDJSON always; CSV only at a record's end). */
  end: number | undefined;
}

export type UploadItem = RecordItem | RejectedItem;

/** Where a PATCH's bytes start, and what the parser must know of the upload to read them. */
export interface ParseStart {
  /** The upload offset of the first byte (the job's checkpoint). */
  offset: number;
  /** Lines before it. */
  lines: number;
  /** The body ends the upload: its last line needs no line ending. */
  final: (bytesRead: number) => boolean;
  /** The most bytes one line may have; a longer one is rejected (`LINE_TOO_LONG`) without being held. */
  maxLineBytes: number;
}

export const REJECTION = {
  notJson: 'not valid JSON',
  notObject: 'not a JSON object (a record is one object per line)',
  empty: 'empty line',
  tooDeep: `nested deeper than ${MAX_JSON_DEPTH} levels`,
  tooLong: (max: number) => `LINE_TOO_LONG: longer than ${max} bytes`,
} as const;
