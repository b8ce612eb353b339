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

export type ImportRow = Selectable<ImportsTable>;
export type NewImport = Insertable<ImportsTable>;
export type ImportUpdate = Updateable<ImportsTable>;
export type ImportEventRow = Selectable<ImportEventsTable>;
export type WatchRow = Selectable<WatchesTable>;
