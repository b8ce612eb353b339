import type { Kysely, Selectable } from 'kysely';
import type { Database, EpochMs, ImportWebhooksTable } from './schema.js';
import type { Store } from './store.js';
import type { WebhookEventType } from './webhook-outbox.js';

export type DeliveryState = 'PENDING' | 'RETRYING' | 'DELIVERED' | 'FAILED';

/** An endpoint, without its secret. */
export interface WebhookRecord {
  id: string;
  clientId: string;
  url: string;
  events: WebhookEventType[];
  enabled: boolean;
  disabledReason: string | null;
  createdAt: EpochMs;
  createdBy: string | null;
  credentialFingerprint: string | null;
}

export interface DeliveryRecord {
  id: number;
  webhookId: string;
  clientId: string;
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: EpochMs | null;
  lastAttemptAt: EpochMs | null;
  responseStatus: number | null;
  /** The event: `webhook-id`, type, body and what caused it. */
  messageId: string;
  type: WebhookEventType;
  importId: number | null;
  createdAt: EpochMs;
}

/** A claimed delivery with what an attempt needs: the endpoint, its sealed secret, the body. */
export interface ClaimedDelivery extends DeliveryRecord {
  url: string;
  sealedSecret: string;
  payload: string;
  traceParent: string | null;
  eventCreatedAt: EpochMs;
}

/** How an attempt ended, as the worker decided it. */
export type AttemptOutcome =
  | { state: 'DELIVERED'; status: number }
  | { state: 'RETRYING'; status: number | null; nextAttemptAt: EpochMs }
  | { state: 'FAILED'; status: number | null; disableEndpoint: boolean };

/**
 * The webhooks' rows (issue 28): endpoints, and the deliveries the outbox made. Deliveries are
 * claimed by one process at a time (a claim that outlives its holder runs out), and every write
 * about an attempt is fenced by the claim, so two replicas never both send or record one attempt.
 */
export class WebhookStore {
  readonly #store: Store;
  readonly #now: () => number;

  constructor(options: { store: Store; now?: () => number }) {
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
  }

  get #db(): Kysely<Database> {
    return this.#store.db;
  }

  async create(endpoint: Omit<WebhookRecord, 'enabled' | 'disabledReason' | 'createdAt'>, sealedSecret: string): Promise<WebhookRecord> {
    const now = this.#now();
    await this.#db
      .insertInto('importWebhooks')
      .values({ ...endpoint, events: JSON.stringify(endpoint.events), enabled: 1, sealedSecret, createdAt: now, updatedAt: now })
      .execute();
    return (await this.find(endpoint.id))!;
  }

  async count(clientId: string): Promise<number> {
    const row = await this.#db
      .selectFrom('importWebhooks')
      .select((eb) => eb.fn.countAll<number | string>().as('count'))
      .where('clientId', '=', clientId)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  async find(id: string): Promise<WebhookRecord | undefined> {
    const row = await this.#db.selectFrom('importWebhooks').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toWebhook(row);
  }

  /** The endpoints of a clientId, oldest first; in passthrough mode only those of `fingerprint`. */
  async list(clientId: string, fingerprint: string | null): Promise<WebhookRecord[]> {
    const rows = await this.#db
      .selectFrom('importWebhooks')
      .selectAll()
      .where('clientId', '=', clientId)
      .$if(fingerprint !== null, (query) => query.where('credentialFingerprint', '=', fingerprint!))
      .orderBy('createdAt')
      .orderBy('id')
      .execute();
    return rows.map(toWebhook);
  }

  /** Deletes an endpoint with its deliveries. */
  async delete(id: string): Promise<boolean> {
    const result = await this.#db.deleteFrom('importWebhooks').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  async sealedSecret(id: string): Promise<string | undefined> {
    return (await this.#db.selectFrom('importWebhooks').select('sealedSecret').where('id', '=', id).executeTakeFirst())?.sealedSecret;
  }

  /** A page of an endpoint's deliveries, newest first, before the delivery `beforeId`. */
  async deliveries(webhookId: string, options: { first: number; beforeId: number | undefined }): Promise<DeliveryRecord[]> {
    const rows = await this.#deliveryQuery()
      .where('webhookDeliveries.webhookId', '=', webhookId)
      .$if(options.beforeId !== undefined, (query) => query.where('webhookDeliveries.id', '<', options.beforeId!))
      .orderBy('webhookDeliveries.id', 'desc')
      .limit(options.first)
      .execute();
    return rows.map(toDelivery);
  }

  async delivery(id: number): Promise<DeliveryRecord | undefined> {
    const row = await this.#deliveryQuery().where('webhookDeliveries.id', '=', id).executeTakeFirst();
    return row && toDelivery(row);
  }

  /**
   * Claims up to `limit` due deliveries for `owner` until `now + claimMs`: PENDING or RETRYING,
   * due, unclaimed or whose claim ran out; only the one `only.id`, or none of the clientIds
   * `only.notOf` (those with as many in flight as they may: another tenant's turn). On PostgreSQL rows another replica is claiming are
   * skipped (`FOR UPDATE SKIP LOCKED`); SQLite has one process per file.
   */
  async claimDue(owner: string, limit: number, claimMs: number, only: { id?: number; notOf?: readonly string[] } = {}): Promise<ClaimedDelivery[]> {
    const { id: onlyId, notOf = [] } = only;
    const now = this.#now();
    const postgres = this.#store.engine === 'postgresql';
    const due = (db: Kysely<Database>) =>
      db
        .selectFrom('webhookDeliveries')
        .select('id')
        .where('state', 'in', ['PENDING', 'RETRYING'])
        .where('nextAttemptAt', '<=', now)
        .where((eb) => eb.or([eb('claimedUntil', 'is', null), eb('claimedUntil', '<', now)]))
        .$if(onlyId !== undefined, (query) => query.where('id', '=', onlyId!))
        .$if(notOf.length > 0, (query) => query.where('clientId', 'not in', notOf))
        .orderBy('nextAttemptAt')
        .limit(limit)
        .$if(postgres, (query) => query.forUpdate().skipLocked());
    const claimed = await this.#db.transaction().execute(async (db) => {
      const ids = (await due(db).execute()).map((row) => Number(row.id));
      if (ids.length === 0) return [];
      await db
        .updateTable('webhookDeliveries')
        .set({ claimedBy: owner, claimedUntil: now + claimMs })
        .where('id', 'in', ids)
        .execute();
      return ids;
    });
    if (claimed.length === 0) return [];
    const rows = await this.#deliveryQuery()
      .innerJoin('importWebhooks', 'importWebhooks.id', 'webhookDeliveries.webhookId')
      .select([
        'importWebhooks.url',
        'importWebhooks.sealedSecret',
        'webhookEvents.payload',
        'webhookEvents.traceParent',
        'webhookEvents.createdAt as eventCreatedAt',
      ])
      .where('webhookDeliveries.id', 'in', claimed)
      .where('webhookDeliveries.claimedBy', '=', owner)
      .execute();
    return rows.map((row) => ({
      ...toDelivery(row),
      url: row.url,
      sealedSecret: row.sealedSecret,
      payload: typeof row.payload === 'string' ? row.payload : JSON.stringify(row.payload),
      traceParent: row.traceParent,
      eventCreatedAt: Number(row.eventCreatedAt),
    }));
  }

  /** Gives back a claim without an attempt (the clientId has as many in flight as it may). */
  async unclaim(id: number, owner: string): Promise<void> {
    await this.#db.updateTable('webhookDeliveries').set({ claimedBy: null, claimedUntil: null }).where('id', '=', id).where('claimedBy', '=', owner).execute();
  }

  /** Records an attempt's outcome, if `owner` still holds the claim. False when it does not (its claim ran out). */
  async recordAttempt(delivery: ClaimedDelivery, owner: string, outcome: AttemptOutcome): Promise<boolean> {
    const now = this.#now();
    return this.#db.transaction().execute(async (db) => {
      const result = await db
        .updateTable('webhookDeliveries')
        .set((eb) => ({
          state: outcome.state,
          attempts: eb('attempts', '+', 1),
          lastAttemptAt: now,
          responseStatus: outcome.status,
          nextAttemptAt: outcome.state === 'RETRYING' ? outcome.nextAttemptAt : null,
          claimedBy: null,
          claimedUntil: null,
        }))
        .where('id', '=', delivery.id)
        .where('claimedBy', '=', owner)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return false;
      if (outcome.state === 'FAILED' && outcome.disableEndpoint) {
        await db.updateTable('importWebhooks').set({ enabled: 0, disabledReason: 'GONE', updatedAt: now }).where('id', '=', delivery.webhookId).execute();
        // Nothing more goes to an endpoint that said it is gone.
        await db
          .updateTable('webhookDeliveries')
          .set({ state: 'FAILED', nextAttemptAt: null })
          .where('webhookId', '=', delivery.webhookId)
          .where('state', 'in', ['PENDING', 'RETRYING'])
          .where('id', '!=', delivery.id)
          .execute();
      }
      if (delivery.importId !== null && (outcome.state === 'DELIVERED' || outcome.state === 'FAILED')) {
        await db
          .insertInto('importEvents')
          .values({
            importId: delivery.importId,
            at: now,
            actor: null,
            kind: outcome.state === 'DELIVERED' ? 'WEBHOOK_DELIVERED' : 'WEBHOOK_FAILED',
            detail: JSON.stringify({
              webhookId: delivery.webhookId,
              event: delivery.type,
              webhookMessageId: delivery.messageId,
              attempts: delivery.attempts + 1,
              status: outcome.status,
            }),
          })
          .execute();
      }
      return true;
    });
  }

  /** Deliveries waiting (PENDING or RETRYING), every replica's: the backlog. */
  async backlog(): Promise<number> {
    const row = await this.#db
      .selectFrom('webhookDeliveries')
      .select((eb) => eb.fn.countAll<number | string>().as('count'))
      .where('state', 'in', ['PENDING', 'RETRYING'])
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /** A test event for one endpoint, delivered like any other (its own event row, no import). */
  async createTestDelivery(webhook: WebhookRecord, payload: string, messageId: string): Promise<number> {
    const now = this.#now();
    return this.#db.transaction().execute(async (db) => {
      const event = await db
        .insertInto('webhookEvents')
        .values({ messageId, clientId: webhook.clientId, importId: null, type: 'IMPORT_COMPLETED', payload, traceParent: null, createdAt: now })
        .returning('id')
        .executeTakeFirstOrThrow();
      const delivery = await db
        .insertInto('webhookDeliveries')
        .values({
          webhookId: webhook.id,
          eventId: Number(event.id),
          clientId: webhook.clientId,
          state: 'PENDING',
          attempts: 0,
          nextAttemptAt: now,
          createdAt: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return Number(delivery.id);
    });
  }

  #deliveryQuery() {
    return this.#db
      .selectFrom('webhookDeliveries')
      .innerJoin('webhookEvents', 'webhookEvents.id', 'webhookDeliveries.eventId')
      .select([
        'webhookDeliveries.id',
        'webhookDeliveries.webhookId',
        'webhookDeliveries.clientId',
        'webhookDeliveries.state',
        'webhookDeliveries.attempts',
        'webhookDeliveries.nextAttemptAt',
        'webhookDeliveries.lastAttemptAt',
        'webhookDeliveries.responseStatus',
        'webhookDeliveries.createdAt',
        'webhookEvents.messageId',
        'webhookEvents.type',
        'webhookEvents.importId',
      ]);
  }
}

function toWebhook(row: Selectable<ImportWebhooksTable>): WebhookRecord {
  return {
    id: row.id,
    clientId: row.clientId,
    url: row.url,
    events: (typeof row.events === 'string' ? JSON.parse(row.events) : row.events) as WebhookEventType[],
    enabled: Number(row.enabled) === 1,
    disabledReason: row.disabledReason,
    createdAt: Number(row.createdAt),
    createdBy: row.createdBy,
    credentialFingerprint: row.credentialFingerprint,
  };
}

function toDelivery(row: {
  id: number | string;
  webhookId: string;
  clientId: string;
  state: string;
  attempts: number | string;
  nextAttemptAt: number | null;
  lastAttemptAt: number | null;
  responseStatus: number | null;
  createdAt: number;
  messageId: string;
  type: string;
  importId: number | null;
}): DeliveryRecord {
  return {
    id: Number(row.id),
    webhookId: row.webhookId,
    clientId: row.clientId,
    state: row.state as DeliveryState,
    attempts: Number(row.attempts),
    nextAttemptAt: row.nextAttemptAt === null ? null : Number(row.nextAttemptAt),
    lastAttemptAt: row.lastAttemptAt === null ? null : Number(row.lastAttemptAt),
    responseStatus: row.responseStatus === null ? null : Number(row.responseStatus),
    messageId: row.messageId,
    type: row.type as WebhookEventType,
    importId: row.importId === null ? null : Number(row.importId),
    createdAt: Number(row.createdAt),
  };
}
