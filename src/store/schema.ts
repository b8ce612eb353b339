/**
 * The store's tables as TypeScript sees them through Kysely, one definition for both engines
 * (SQLite and PostgreSQL). Columns are snake_case in SQL and camelCase here (Kysely's
 * CamelCasePlugin maps them); the migrations (`./migrations/`) create exactly these.
 *
 * Two representations keep the engines alike, so a query means the same on both:
 * - times are {@link EpochMs}: whole milliseconds since 1970 UTC (`bigint` in PostgreSQL, read
 *   back as a number; `integer` in SQLite). They compare and sort as numbers everywhere, and a
 *   cursor holds them exactly.
 * - JSON is {@link JsonText}: the document as text, written with `JSON.stringify` and parsed by
 *   the code that reads it (`jsonb` in PostgreSQL, `text` in SQLite).
 * No column is boolean (SQLite has none): a fact such as "final" is derived from the columns that
 * state it (see {@link ImportsTable.lastStatus}).
 */
import type { ColumnType, Insertable, Selectable, Updateable } from 'kysely';

/** Milliseconds since the epoch, UTC (`Date.now()`, `date.getTime()`). */
export type EpochMs = number;

/** A JSON document as text: `JSON.stringify` in, `JSON.parse` out. */
export type JsonText = string;

/** A row id: assigned by the database on insert, never reused, increasing in insertion order. */
type Id = ColumnType<number, never, never>;

/** The tables of the store. */
export interface Database {
  imports: ImportsTable;
  importCredentials: ImportCredentialsTable;
  importEvents: ImportEventsTable;
  watches: WatchesTable;
  importJobs: ImportJobsTable;
  importJobRejections: ImportJobRejectionsTable;
}

/**
 * The registry: one row per import the gateway initiated, staged, executed, watched or read.
 * "Newest first" is `id` descending (the order the gateway first recorded imports, which for
 * imports initiated through it is `createdAt`'s), so a cursor is an id and stays stable while
 * imports are added.
 */
export interface ImportsTable {
  id: Id;
  clientId: string;
  /** The upstream's token of the import: unique with `clientId`. */
  accessToken: string;
  name: string | null;
  /** The import's settings as initiated (`InitiateImportInput`), when initiated through the gateway. */
  settings: JsonText | null;
  /** When it was initiated through the gateway; null for an import first seen later (made elsewhere). */
  createdAt: EpochMs | null;
  /** The caller's subject (jwt mode) that initiated it. */
  createdBy: string | null;
  executedAt: EpochMs | null;
  /** When the gateway saw it become COMPLETED or FAILED: set in the same write that stores the final state. */
  finishedAt: EpochMs | null;
  /**
   * The status of `lastState` (an `ImportStatus` name), kept as a column for the `status` filter.
   * COMPLETED or FAILED here means the record is final (`isFinal`): the terminal state is stored
   * once and never replaced, so a final record is never served in place of a newer upstream answer.
   */
  lastStatus: string | null;
  /** The last state read from MyPreferences (the domain's view of it). */
  lastState: JsonText | null;
  /** When `lastState` was read. */
  observedAt: EpochMs | null;
  /** When this row was written first. */
  recordedAt: EpochMs;
  /** When this row last changed: retention (`IMPORT_HISTORY_DAYS`) counts from it. */
  updatedAt: EpochMs;
}

/**
 * Which passthrough credentials touched an import, by fingerprint (the keyed hash of
 * `CREDENTIAL_FINGERPRINT_SECRET`, never the credential): a passthrough caller lists only imports
 * its own credential touched. An import touched with two credentials has two rows.
 */
export interface ImportCredentialsTable {
  importId: number;
  credentialFingerprint: string;
  firstSeenAt: EpochMs;
}

/** An import's history, oldest first by `id`: who initiated, staged, executed, each status seen. */
export interface ImportEventsTable {
  id: Id;
  importId: number;
  at: EpochMs;
  /** Who did it (the caller's subject); null for what the gateway saw by itself (a status change). */
  actor: string | null;
  /** An `ImportEventKind` name. */
  kind: string;
  detail: JsonText | null;
}

/** Imports watched with nobody subscribed, until terminal or until their token expires; one row per import. */
export interface WatchesTable {
  importId: number;
  /** What started the watch: `EXECUTED` (executed through the gateway), `WATCH_IMPORT` (asked for), `JOB` (an import job's). */
  origin: string;
  watchedSince: EpochMs;
  watchedBy: string | null;
  /** When to stop even if not terminal (the token's expected end); null: until terminal or refused. */
  endsAt: EpochMs | null;
}

/**
 * Import jobs (issue 27): one row per job, its upload's checkpoint and its place in its clientId's
 * execution queue. Counts and offsets are numbers (`bigint` in PostgreSQL, read back as numbers).
 */
export interface ImportJobsTable {
  /** A random UUID: the job's id and the last segment of its upload URL. */
  id: string;
  clientId: string;
  /** The import behind the job (initiated with it). */
  importId: number;
  /** `NDJSON` or `CSV`. */
  format: string;
  /** 1: execute once the upload is complete; 0: end COMPLETED once staged. */
  execute: number;
  /** An `ImportJobState` name. */
  state: string;
  /** The upload's length, once the client declared it. */
  uploadLength: number | null;
  /** The upload offset: every record of the bytes before it is staged upstream (a line boundary). */
  bytesStaged: number;
  /** Lines before `bytesStaged`: where the line numbers of a resumed upload go on from. */
  linesRead: number;
  recordsStaged: number;
  recordsRejected: number;
  stageCalls: number;
  /** The upstream's `TotalRecordsReceived` after the last Stage that landed: what the next one is reconciled against. */
  upstreamReceived: number;
  /** CSV: the header's record paths, once read (a resumed upload starts past the header). */
  csvColumns: JsonText | null;
  /** The Stage call sent and not yet confirmed (a {@link StageInDoubt}), written before the call. */
  stageInDoubt: JsonText | null;
  /** Which process stages the job now, and until when unless it renews. */
  leaseOwner: string | null;
  leaseUntil: EpochMs | null;
  createdAt: EpochMs;
  /** The caller's subject (jwt mode). */
  createdBy: string | null;
  /** Passthrough: the fingerprint of the credential that created the job; only that credential sees it. */
  credentialFingerprint: string | null;
  /** When the upload completed: the order of the clientId's queue. */
  queuedAt: EpochMs | null;
  finishedAt: EpochMs | null;
  errorCode: string | null;
  errorMessage: string | null;
  updatedAt: EpochMs;
}

/** What a Stage call in doubt carried: enough to tell from the upstream's count whether it landed, and to advance if it did. */
export interface StageInDoubt {
  /** The checkpoint it started from. */
  fromOffset: number;
  /** Where the checkpoint goes when it lands. */
  toOffset: number;
  toLine: number;
  records: number;
  rejected: number;
  /** `TotalRecordsReceived` before it: it landed if the count is now this plus `records`. */
  receivedBefore: number;
  /** CSV: the header, if this body is the first after it. */
  csvColumns?: string[];
}

/** A line of an upload that was not a record (never sent upstream). */
export interface ImportJobRejectionsTable {
  jobId: string;
  line: number;
  reason: string;
}

export type ImportJobRow = Selectable<ImportJobsTable>;
export type ImportRow = Selectable<ImportsTable>;
export type NewImport = Insertable<ImportsTable>;
export type ImportUpdate = Updateable<ImportsTable>;
export type ImportEventRow = Selectable<ImportEventsTable>;
export type WatchRow = Selectable<WatchesTable>;
