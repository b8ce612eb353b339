import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { type ExpressionBuilder, sql, type Transaction } from 'kysely';
import type { BulkImport, ImportStatus } from '../domain/bulk-import.js';
import type { ImportRef } from '../domain/import-ref.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Logger } from '../logger.js';
import { ATTR, tracer } from '../telemetry/spans.js';
import { GroupCommit } from './group-commit.js';
import type { Database, EpochMs, ImportRow } from './schema.js';
import type { Store, StoreObserver, StoreOperation } from './store.js';
import type { OutboxEvent, WebhookOutbox } from './webhook-outbox.js';

/** What the history says happened (`ImportEventKind`); this part of the registry writes these. */
export type ImportEventKind = 'INITIATED' | 'STAGED' | 'EXECUTED' | 'STATUS_CHANGED' | 'JOB_CREATED' | 'JOB_FAILED' | 'JOB_CANCELED';

/** What `imports` asks the registry: whose imports (decided before, by the caller's access), which, and where the page starts. */
export interface ImportQuery {
  /** `'any'`: every clientId; otherwise only these (an empty list finds nothing). */
  clientIds: 'any' | readonly string[];
  /** Only imports touched with the credential of this fingerprint (passthrough). */
  credentialFingerprint: string | undefined;
  statuses: readonly ImportStatus[] | undefined;
  createdAfter: EpochMs | undefined;
  createdBefore: EpochMs | undefined;
  /** A substring of the name, matched case-insensitively. */
  nameContains: string | undefined;
  createdBy: string | undefined;
  /** Rows to read (a page and one more, to know whether another follows). */
  limit: number;
  /** The page starts after (older than) the import of this id. */
  beforeId: number | undefined;
}

/** One entry of an import's history. */
export interface ImportEvent {
  id: number;
  at: EpochMs;
  actor: string | null;
  kind: ImportEventKind;
  detail: Record<string, unknown> | null;
}

/** One import as the registry knows it. */
export interface ImportRecord {
  id: number;
  clientId: string;
  accessToken: string;
  name: string | null;
  createdAt: EpochMs | null;
  createdBy: string | null;
  executedAt: EpochMs | null;
  finishedAt: EpochMs | null;
  /** The last state seen (the domain's view), and when it was read. */
  lastState: BulkImport | null;
  observedAt: EpochMs | null;
  /** The last state is terminal and stored for good (`finishedAt` is set with it). */
  isFinal: boolean;
}

/** Who made a change, as the registry keeps it: never a credential. */
export interface Recorder {
  /** The caller's subject (jwt mode): `createdBy` and the events' actor; null in passthrough mode. */
  actor: string | null;
  /** The passthrough credential's fingerprint (its id), which makes the import visible to that credential; null in jwt mode. */
  fingerprint: string | null;
}

/** A change made through the gateway, recorded with the state the upstream answered. */
export type ImportChange = { kind: 'INITIATED'; name: string; settings: Record<string, unknown> } | { kind: 'STAGED'; records: number } | { kind: 'EXECUTED' };

/** What started a watch: executed through the gateway, asked for with `watchImport`, or an import job's Execute. */
export type WatchOrigin = 'EXECUTED' | 'WATCH_IMPORT' | 'JOB';

/** A watch to add: why, by whom (the JWT subject; null in passthrough mode), and until when at the latest (the token's expiry, if known). */
export interface NewWatch {
  origin: WatchOrigin;
  watchedBy: string | null;
  endsAt: EpochMs | null;
}

/** One entry of the watch list. */
export interface WatchEntry extends NewWatch {
  ref: ImportRef;
}

const FINAL: ReadonlySet<string> = new Set<ImportStatus>(['COMPLETED', 'FAILED']);
/** Statuses in lifecycle order: an observation never moves a record back (a slower read finishing after a newer one). */
const RANK: Readonly<Record<ImportStatus, number>> = { INITIATED: 0, STAGING: 1, QUEUED: 2, PROCESSING: 3, COMPLETED: 4, FAILED: 4 };
/** How long a mutation waits for the store to answer before it is refused. */
const AVAILABILITY_TIMEOUT_MS = 2_000;
/** How long a count of the imports tracked is reused: scrapes cost the database at most one count per interval. */
const TRACKED_REUSE_MS = 10_000;

/** How many imports the registry holds, and how many of them are final: `/metrics`'s imports tracked. */
export interface TrackedImports {
  imports: number;
  final: number;
}

/**
 * The imports registry (issue 26): every import the gateway initiates, stages, executes or reads,
 * its last state, its history and the credentials that touched it. Recording never fails the
 * caller's operation (the upstream change is made by then): a write that fails is logged. What
 * keeps a change from being made unrecorded is {@link ensureAvailable}, asked before the upstream call.
 */
export class ImportRegistry {
  readonly #store: Store;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #observe: StoreObserver | undefined;
  /** Records of one turn, committed together. */
  readonly #commits: GroupCommit<Database>;
  readonly #outbox: WebhookOutbox | undefined;
  #tracked: { at: number; answer: Promise<TrackedImports> } | undefined;

  constructor(options: { store: Store; logger: Logger; now?: () => number; observe?: StoreObserver; outbox?: WebhookOutbox }) {
    this.#store = options.store;
    this.#outbox = options.outbox;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#observe = options.observe;
    this.#commits = new GroupCommit(
      () => this.#store.db,
      (_writes, seconds) => this.#observe?.('commit', seconds),
    );
  }

  /**
   * Runs one registry operation inside its span (`store <operation>`, a child of whatever is
   * active: the GraphQL operation, a poll; the API's no-op without the SDK) and tells
   * {@link StoreObserver} how long it took.
   */
  async #timed<T>(operation: StoreOperation, work: () => Promise<T>): Promise<T> {
    const span = tracer.startSpan(`store ${operation}`, {
      kind: SpanKind.CLIENT,
      attributes: { [ATTR.dbSystem]: this.#store.engine, [ATTR.dbOperation]: operation },
    });
    const began = performance.now();
    try {
      return await work();
    } catch (error) {
      // The error's class only: a database's message may quote the values it was given.
      const type = error instanceof GatewayError ? String(error.extensions['code']) : error instanceof Error ? error.name : 'Error';
      span.setAttribute('error.type', type);
      span.setStatus({ code: SpanStatusCode.ERROR, message: type });
      throw error;
    } finally {
      span.end();
      this.#observe?.(operation, (performance.now() - began) / 1_000);
    }
  }

  /**
   * How many imports the registry holds, and how many are final: one count query, its answer
   * shared for 10 s (however often `/metrics` is scraped).
   */
  tracked(): Promise<TrackedImports> {
    const now = this.#now();
    if (this.#tracked && now - this.#tracked.at < TRACKED_REUSE_MS) return this.#tracked.answer;
    const answer = this.#timed('tracked', async () => {
      const row = await this.#store.db
        .selectFrom('imports')
        .select((eb) => [
          eb.fn.countAll<number | string>().as('imports'),
          eb.fn
            .count<number | string>(
              eb
                .case()
                .when('lastStatus', 'in', [...FINAL])
                .then(1)
                .end(),
            )
            .as('final'),
        ])
        .executeTakeFirstOrThrow();
      return { imports: Number(row.imports), final: Number(row.final) };
    });
    this.#tracked = { at: now, answer };
    // A failed count is not reused: the next scrape asks again.
    answer.catch(() => {
      if (this.#tracked?.answer === answer) this.#tracked = undefined;
    });
    return answer;
  }

  /** Throws STORE_UNAVAILABLE unless the store answers now (a fresh query, not readiness's shared one). */
  ensureAvailable(): Promise<void> {
    return this.#timed('available', () => this.#ensureAvailable());
  }

  async #ensureAvailable(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const query = this.#store.db.selectNoFrom((eb) => eb.lit(1).as('one')).execute();
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${AVAILABILITY_TIMEOUT_MS} ms`)), AVAILABILITY_TIMEOUT_MS);
      });
      await Promise.race([query, timeout]);
    } catch (error) {
      this.#logger.warn({ error: (error as Error).message }, 'the store is unavailable: change refused');
      throw new GatewayError('STORE_UNAVAILABLE', 'The gateway cannot record this change now, so it was not made: try again shortly.');
    } finally {
      clearTimeout(timer);
    }
  }

  /** Records a state read from MyPreferences (a summary, an entity, a poll): the import joins the registry if it is new. */
  observed(ref: ImportRef, state: BulkImport, recorder: Recorder): Promise<void> {
    return this.#record('observed', ref, state, recorder, undefined);
  }

  /** Records a change made through the gateway, with the state the upstream answered to it. */
  changed(ref: ImportRef, state: BulkImport, recorder: Recorder, change: ImportChange): Promise<void> {
    return this.#record('changed', ref, state, recorder, change);
  }

  /** The record of one import, if the gateway has touched it. */
  find(ref: ImportRef): Promise<ImportRecord | undefined> {
    return this.#timed('find', () => this.#find(ref));
  }

  async #find(ref: ImportRef): Promise<ImportRecord | undefined> {
    const row = await this.#store.db
      .selectFrom('imports')
      .selectAll()
      .where('clientId', '=', ref.clientId)
      .where('accessToken', '=', ref.accessToken)
      .executeTakeFirst();
    return row && toRecord(row);
  }

  /**
   * A page of imports, newest first (`id` descending), and how many match in all (the page's
   * position aside). Nothing outside `clientIds` and the fingerprint is read or counted.
   */
  list(query: ImportQuery): Promise<{ records: ImportRecord[]; totalCount: number }> {
    return this.#timed('list', () => this.#list(query));
  }

  async #list(query: ImportQuery): Promise<{ records: ImportRecord[]; totalCount: number }> {
    if (query.clientIds !== 'any' && query.clientIds.length === 0) return { records: [], totalCount: 0 };
    const matching = this.#store.db.selectFrom('imports').where((eb) => eb.and(this.#filters(eb, query)));
    const [rows, count] = await Promise.all([
      matching
        .selectAll()
        .$if(query.beforeId !== undefined, (page) => page.where('id', '<', query.beforeId!))
        .orderBy('id', 'desc')
        .limit(query.limit)
        .execute(),
      matching.select((eb) => eb.fn.countAll<number | string>().as('count')).executeTakeFirstOrThrow(),
    ]);
    return { records: rows.map(toRecord), totalCount: Number(count.count) };
  }

  #filters(eb: ExpressionBuilder<Database, 'imports'>, query: ImportQuery) {
    const filters = [];
    if (query.clientIds !== 'any') filters.push(eb('clientId', 'in', query.clientIds));
    if (query.credentialFingerprint !== undefined) {
      filters.push(eb('id', 'in', eb.selectFrom('importCredentials').select('importId').where('credentialFingerprint', '=', query.credentialFingerprint)));
    }
    if (query.statuses !== undefined) filters.push(eb('lastStatus', 'in', query.statuses.length > 0 ? query.statuses : ['']));
    if (query.createdAfter !== undefined) filters.push(eb('createdAt', '>', query.createdAfter));
    if (query.createdBefore !== undefined) filters.push(eb('createdAt', '<', query.createdBefore));
    if (query.createdBy !== undefined) filters.push(eb('createdBy', '=', query.createdBy));
    if (query.nameContains !== undefined) {
      const pattern = `%${query.nameContains.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
      // The one place the engines differ: PostgreSQL's ILIKE; SQLite's LIKE ignores (ASCII) case by itself.
      const operator = this.#store.engine === 'postgresql' ? sql`ilike` : sql`like`;
      filters.push(sql<boolean>`${sql.ref('name')} ${operator} ${pattern} escape '\\'`);
    }
    return filters;
  }

  /**
   * The import's stored final state, if it is final and `fingerprint` (passthrough) touched it:
   * what may be served once the upstream forgets the token. Never a record that is not final.
   */
  finalRecord(ref: ImportRef, fingerprint: string | null): Promise<ImportRecord | undefined> {
    return this.#timed('finalRecord', () => this.#finalRecord(ref, fingerprint));
  }

  async #finalRecord(ref: ImportRef, fingerprint: string | null): Promise<ImportRecord | undefined> {
    const row = await this.#store.db
      .selectFrom('imports')
      .selectAll()
      .where('clientId', '=', ref.clientId)
      .where('accessToken', '=', ref.accessToken)
      .where('lastStatus', 'in', [...FINAL])
      .$if(fingerprint !== null, (query) =>
        query.where('id', 'in', (eb) => eb.selectFrom('importCredentials').select('importId').where('credentialFingerprint', '=', fingerprint!)),
      )
      .executeTakeFirst();
    return row && toRecord(row);
  }

  /** One page of an import's history, oldest first: up to `first` events after the event `afterId`. */
  history(importId: number, options: { first: number; afterId: number | undefined }): Promise<ImportEvent[]> {
    return this.#timed('history', () => this.#history(importId, options));
  }

  async #history(importId: number, options: { first: number; afterId: number | undefined }): Promise<ImportEvent[]> {
    const rows = await this.#store.db
      .selectFrom('importEvents')
      .select(['id', 'at', 'actor', 'kind', 'detail'])
      .where('importId', '=', importId)
      .$if(options.afterId !== undefined, (query) => query.where('id', '>', options.afterId!))
      .orderBy('id')
      .limit(options.first)
      .execute();
    return rows.map((row) => ({
      ...row,
      kind: row.kind as ImportEventKind,
      detail: row.detail === null ? null : (JSON.parse(row.detail) as Record<string, unknown>),
    }));
  }

  /**
   * Puts an import on the watch list (kept if it is there already). Its record must exist (the
   * change or read that started the watch recorded it just before). A write that fails is logged:
   * the import is still watched by this process, only not after a restart.
   */
  async addWatch(ref: ImportRef, watch: NewWatch): Promise<void> {
    try {
      await this.#store.db
        .insertInto('watches')
        .columns(['importId', 'origin', 'watchedSince', 'watchedBy', 'endsAt'])
        .expression((eb) =>
          eb
            .selectFrom('imports')
            .select((select) => [
              'id',
              select.val(watch.origin).as('origin'),
              select.val(this.#now()).as('watchedSince'),
              select.val(watch.watchedBy).as('watchedBy'),
              select.val(watch.endsAt).as('endsAt'),
            ])
            .where('clientId', '=', ref.clientId)
            .where('accessToken', '=', ref.accessToken),
        )
        .onConflict((conflict) => conflict.column('importId').doNothing())
        .execute();
    } catch (error) {
      this.#logger.error({ err: error, clientId: ref.clientId }, 'the registry could not add a watch: it will not resume after a restart');
    }
  }

  /** Takes an import off the watch list (it is final, or its token is gone). A failure is logged. */
  async removeWatch(ref: ImportRef): Promise<void> {
    try {
      await this.#store.db
        .deleteFrom('watches')
        .where('importId', 'in', (eb) => eb.selectFrom('imports').select('id').where('clientId', '=', ref.clientId).where('accessToken', '=', ref.accessToken))
        .execute();
    } catch (error) {
      this.#logger.error({ err: error, clientId: ref.clientId }, 'the registry could not remove a watch');
    }
  }

  /** The watch list, oldest watch first. */
  async watches(): Promise<WatchEntry[]> {
    const rows = await this.#store.db
      .selectFrom('watches')
      .innerJoin('imports', 'imports.id', 'watches.importId')
      .select(['imports.clientId', 'imports.accessToken', 'watches.origin', 'watches.watchedBy', 'watches.endsAt'])
      .orderBy('watches.watchedSince')
      .execute();
    return rows.map((row) => ({
      ref: { clientId: row.clientId, accessToken: row.accessToken },
      origin: row.origin as WatchOrigin,
      watchedBy: row.watchedBy,
      endsAt: row.endsAt,
    }));
  }

  async #record(operation: 'observed' | 'changed', ref: ImportRef, state: BulkImport, recorder: Recorder, change: ImportChange | undefined): Promise<void> {
    try {
      // With the other records of this turn, in one transaction (`GroupCommit`).
      const delivering = await this.#timed(operation, () =>
        this.#commits.run(`${ref.clientId}\u0000${ref.accessToken}`, (transaction) => this.#write(transaction, ref, state, recorder, change)),
      );
      if (delivering) this.#outbox?.committed();
    } catch (error) {
      this.#logger.error(
        { err: error, clientId: ref.clientId, change: change?.kind ?? 'OBSERVED' },
        'the registry could not record an import: its record is behind',
      );
    }
  }

  /** Writes the change; true when it wrote a webhook delivery (the worker is told once it commits). */
  async #write(db: Transaction<Database>, ref: ImportRef, state: BulkImport, recorder: Recorder, change: ImportChange | undefined): Promise<boolean> {
    const now = this.#now();
    await db
      .insertInto('imports')
      .values({ clientId: ref.clientId, accessToken: ref.accessToken, name: state.name, recordedAt: now, updatedAt: now })
      .onConflict((conflict) => conflict.columns(['clientId', 'accessToken']).doNothing())
      .execute();
    const row = await db
      .selectFrom('imports')
      .selectAll()
      .where('clientId', '=', ref.clientId)
      .where('accessToken', '=', ref.accessToken)
      .$if(this.#store.engine === 'postgresql', (query) => query.forUpdate())
      .executeTakeFirstOrThrow();

    const update: Partial<Omit<ImportRow, 'id'>> = { updatedAt: now };
    const events: { kind: ImportEventKind; detail: Record<string, unknown> | null; actor: string | null }[] = [];
    /** What the webhooks are told, in this same transaction: the first Execute, the final state. */
    const notices: OutboxEvent['type'][] = [];
    if (change?.kind === 'INITIATED') {
      Object.assign(update, { name: change.name, settings: JSON.stringify(change.settings), createdAt: now, createdBy: recorder.actor });
      events.push({ kind: 'INITIATED', detail: { name: change.name }, actor: recorder.actor });
    } else if (change?.kind === 'STAGED') {
      events.push({ kind: 'STAGED', detail: { records: change.records }, actor: recorder.actor });
    } else if (change?.kind === 'EXECUTED') {
      if (row.executedAt === null) {
        update.executedAt = now;
        notices.push('IMPORT_EXECUTED');
      }
      events.push({ kind: 'EXECUTED', detail: null, actor: recorder.actor });
    }
    // The final state is stored once and never replaced; a state older than the one kept is not taken.
    const previous = row.lastStatus as ImportStatus | null;
    const isNewer = previous === null || (!FINAL.has(previous) && RANK[state.status] >= RANK[previous]);
    if (isNewer) {
      Object.assign(update, { lastStatus: state.status, lastState: JSON.stringify(state), observedAt: now });
      if (FINAL.has(state.status)) {
        update.finishedAt = now;
        notices.push(state.status === 'COMPLETED' ? 'IMPORT_COMPLETED' : 'IMPORT_FAILED');
      }
      if (previous !== null && previous !== state.status) {
        events.push({ kind: 'STATUS_CHANGED', detail: { from: previous, to: state.status }, actor: null });
      }
    }
    await db.updateTable('imports').set(update).where('id', '=', row.id).execute();
    if (events.length > 0) {
      await db
        .insertInto('importEvents')
        .values(
          events.map((event) => ({ importId: row.id, at: now, actor: event.actor, kind: event.kind, detail: event.detail && JSON.stringify(event.detail) })),
        )
        .execute();
    }
    if (recorder.fingerprint !== null) {
      await db
        .insertInto('importCredentials')
        .values({ importId: row.id, credentialFingerprint: recorder.fingerprint, firstSeenAt: now })
        .onConflict((conflict) => conflict.columns(['credentialFingerprint', 'importId']).doNothing())
        .execute();
    }
    let delivering = false;
    if (this.#outbox && notices.length > 0) {
      const data = importNotice({ ...row, ...update } as ImportRow, state);
      for (const type of notices) delivering = (await this.#outbox.write(db, { clientId: ref.clientId, importId: row.id, type, data, at: now })) || delivering;
    }
    return delivering;
  }
}

/** An import as webhooks tell it: `BulkImport`'s fields, as `importSummary` answers them, with the registry's. */
export function importNotice(row: ImportRow, state: BulkImport): Record<string, unknown> {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    ...state,
    expires: state.expires?.toISOString() ?? null,
    createdAt: iso(row.createdAt),
    createdBy: row.createdBy,
    executedAt: iso(row.executedAt),
    finishedAt: iso(row.finishedAt),
    observedAt: iso(row.observedAt),
    isFinal: row.lastStatus !== null && FINAL.has(row.lastStatus),
  };
}

function toRecord(row: ImportRow): ImportRecord {
  return {
    id: row.id,
    clientId: row.clientId,
    accessToken: row.accessToken,
    name: row.name,
    createdAt: row.createdAt,
    createdBy: row.createdBy,
    executedAt: row.executedAt,
    finishedAt: row.finishedAt,
    lastState: row.lastState === null ? null : parseState(row.lastState),
    observedAt: row.observedAt,
    isFinal: row.lastStatus !== null && FINAL.has(row.lastStatus),
  };
}

/** A stored view back as the domain has it (`expires` was written as its ISO text). */
export function parseState(text: string): BulkImport {
  const state = JSON.parse(text) as Omit<BulkImport, 'expires'> & { expires: string | null };
  return { ...state, expires: state.expires === null ? null : new Date(state.expires) };
}
