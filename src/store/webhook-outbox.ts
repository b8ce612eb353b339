import { randomUUID } from 'node:crypto';
import { context, propagation } from '@opentelemetry/api';
import type { Transaction } from 'kysely';
import type { Database, EpochMs } from './schema.js';

/** What a webhook tells (`ImportWebhookEvent`). */
export type WebhookEventType = 'IMPORT_EXECUTED' | 'IMPORT_COMPLETED' | 'IMPORT_FAILED' | 'IMPORT_JOB_FAILED' | 'IMPORT_JOB_CANCELED';

export const WEBHOOK_EVENT_TYPES: readonly WebhookEventType[] = [
  'IMPORT_EXECUTED',
  'IMPORT_COMPLETED',
  'IMPORT_FAILED',
  'IMPORT_JOB_FAILED',
  'IMPORT_JOB_CANCELED',
];

/** An event to write: whose, about which import, what happened, and the `data` of its body. */
export interface OutboxEvent {
  clientId: string;
  importId: number | null;
  type: WebhookEventType;
  data: Record<string, unknown>;
  at: EpochMs;
}

/**
 * The webhooks' outbox (issue 28): an event is written in the same transaction as the state
 * change that caused it — the final state stored, the first Execute recorded, a job ended — so
 * it is written exactly when that change is, once per cluster (the change itself is made once),
 * and never lost between being seen and being sent. With it, one delivery per enabled endpoint of
 * the clientId that takes the event. The body is fixed here: every attempt sends the same bytes.
 */
export class WebhookOutbox {
  readonly #listeners = new Set<() => void>();

  /** Writes the event and its deliveries inside `db`'s transaction. True when an endpoint takes it. */
  async write(db: Transaction<Database>, event: OutboxEvent): Promise<boolean> {
    const endpoints = await db.selectFrom('importWebhooks').select(['id', 'events']).where('clientId', '=', event.clientId).where('enabled', '=', 1).execute();
    const takers = endpoints.filter((endpoint) => (JSON.parse(endpoint.events) as string[]).includes(event.type));
    const payload = JSON.stringify({ type: event.type, timestamp: new Date(event.at).toISOString(), data: event.data });
    const inserted = await db
      .insertInto('webhookEvents')
      .values({
        messageId: `msg_${randomUUID().replaceAll('-', '')}`,
        clientId: event.clientId,
        importId: event.importId,
        type: event.type,
        payload,
        traceParent: currentTraceParent(),
        createdAt: event.at,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    if (takers.length === 0) return false;
    await db
      .insertInto('webhookDeliveries')
      .values(
        takers.map((endpoint) => ({
          webhookId: endpoint.id,
          eventId: Number(inserted.id),
          clientId: event.clientId,
          state: 'PENDING',
          attempts: 0,
          nextAttemptAt: event.at,
          createdAt: event.at,
        })),
      )
      .execute();
    return true;
  }

  /** Tells the delivery worker of this process that deliveries were committed (it need not wait for its next look). */
  committed(): void {
    for (const listener of this.#listeners) listener();
  }

  onCommitted(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** The active trace context as a `traceparent`, if there is one: a delivery's span links to it. */
function currentTraceParent(): string | null {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier['traceparent'] ?? null;
}
