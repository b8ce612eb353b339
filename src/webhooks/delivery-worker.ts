import { randomUUID } from 'node:crypto';
import { context, type Link, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { Webhook } from 'standardwebhooks';
import type { Dispatcher } from 'undici';
import { systemTimers, type Timers } from '../lib/timers.js';
import type { Logger } from '../logger.js';
import type { WebhookOutbox } from '../store/webhook-outbox.js';
import type { AttemptOutcome, ClaimedDelivery, WebhookStore } from '../store/webhooks.js';
import { tracer } from '../telemetry/spans.js';
import { postWebhook } from './post-webhook.js';
import type { SecretSeal } from './signing-secrets.js';

export interface DeliveryWorkerOptions {
  store: WebhookStore;
  outbox: WebhookOutbox;
  seal: () => Promise<SecretSeal | undefined>;
  dispatcher: Dispatcher;
  logger: Logger;
  /** Deliveries attempted at once by this process; one clientId at most a quarter of them (at least one). */
  maxInFlight: number;
  firstRetryMs: number;
  giveUpAfterMs: number;
  scanMs: number;
  /** @default 10 s, the bound the API promises */
  timeoutMs?: number;
  timers?: Timers;
  random?: () => number;
  /** Told of each attempt: its outcome and how long it took (metrics). */
  observe?: (outcome: DeliveryOutcome, seconds: number) => void;
}

/** How an attempt ended, as metrics count it. */
export type DeliveryOutcome = 'delivered' | 'retried' | 'failed' | 'gone';

/** The most of an answer read: enough to log, never a flood. */
const MAX_ANSWER_BYTES = 4096;

/**
 * Delivers the outbox's deliveries (issue 28), at least once, signed the Standard Webhooks way.
 * Every replica runs one: it claims due deliveries (one process at a time per delivery: a claim
 * that outlives a dead process runs out, and another takes the delivery), attempts each with a
 * 10 s bound, redirects not followed and a few KB of the answer read, and records the outcome
 * fenced by its claim: 2xx DELIVERED; 410 FAILED and the endpoint disabled; anything else
 * RETRYING at growing intervals with jitter until `giveUpAfterMs` after the event, then FAILED.
 * `webhook-id` is the event's, the same on every attempt; `webhook-timestamp` is the attempt's.
 */
export class DeliveryWorker {
  readonly #options: DeliveryWorkerOptions;
  readonly #timers: Timers;
  readonly #random: () => number;
  readonly #owner = randomUUID();
  /** How long a claim holds: an attempt and its bookkeeping, with room to spare. */
  readonly #claimMs: number;
  readonly #inFlight = new Map<string, number>();
  readonly #attempts = new Set<Promise<void>>();
  #total = 0;
  #scan: unknown;
  #scanning = false;
  #again = false;
  #closed = false;
  #stopListening: (() => void) | undefined;

  constructor(options: DeliveryWorkerOptions) {
    this.#options = options;
    this.#timers = options.timers ?? systemTimers;
    this.#random = options.random ?? Math.random;
    this.#claimMs = 2 * (options.timeoutMs ?? 10_000) + 1_000;
  }

  /** Deliveries being attempted by this process now. */
  get inFlight(): number {
    return this.#total;
  }

  start(): void {
    this.#stopListening = this.#options.outbox.onCommitted(() => void this.scan());
    const tick = async () => {
      this.#scan = undefined;
      await this.scan();
      if (!this.#closed) this.#scan = this.#timers.setTimeout(() => void tick(), this.#options.scanMs);
    };
    void tick();
  }

  /** Stops claiming; attempts under way finish (their claims are released by their outcome). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stopListening?.();
    if (this.#scan !== undefined) this.#timers.clearTimeout(this.#scan);
    await Promise.allSettled([...this.#attempts]);
  }

  /** Claims what is due and there is room for, and attempts it. One scan at a time; a scan asked for meanwhile runs after. */
  async scan(): Promise<void> {
    if (this.#closed) return;
    if (this.#scanning) {
      this.#again = true;
      return;
    }
    this.#scanning = true;
    try {
      do {
        this.#again = false;
        const room = this.#options.maxInFlight - this.#total;
        if (room <= 0) break;
        // Clients with their share in flight are left out of the claim, so the oldest deliveries of one busy tenant cannot fill it.
        const full = [...this.#inFlight].filter(([, held]) => held >= this.#perClient).map(([clientId]) => clientId);
        const claimed = await this.#options.store.claimDue(this.#owner, room, this.#claimMs, { notOf: full });
        for (const delivery of claimed) {
          if (!this.#admit(delivery.clientId)) {
            await this.#options.store.unclaim(delivery.id, this.#owner);
            continue;
          }
          const attempt = this.#attempt(delivery).finally(() => {
            this.#release(delivery.clientId);
            this.#attempts.delete(attempt);
            // Room again: what waited for it goes now.
            void this.scan();
          });
          this.#attempts.add(attempt);
        }
      } while (this.#again && !this.#closed);
    } catch (error) {
      this.#options.logger.warn({ error: (error as Error).message }, 'webhook deliveries could not be claimed: trying again at the next scan');
    } finally {
      this.#scanning = false;
    }
  }

  /**
   * Attempts one delivery now (`sendTestImportWebhook`): claimed like any other, so a scan does
   * not take it meanwhile. Resolves once its outcome is recorded.
   */
  async attemptNow(deliveryId: number): Promise<void> {
    const claimed = await this.#options.store.claimDue(this.#owner, 1, this.#claimMs, { id: deliveryId });
    const delivery = claimed[0];
    if (!delivery) return;
    await this.#attempt(delivery);
  }

  /** One clientId's share of the attempts in flight: a quarter, at least one. */
  get #perClient(): number {
    return Math.max(1, Math.floor(this.#options.maxInFlight / 4));
  }

  #admit(clientId: string): boolean {
    const held = this.#inFlight.get(clientId) ?? 0;
    if (held >= this.#perClient) return false;
    this.#inFlight.set(clientId, held + 1);
    this.#total++;
    return true;
  }

  #release(clientId: string): void {
    const held = (this.#inFlight.get(clientId) ?? 1) - 1;
    if (held > 0) this.#inFlight.set(clientId, held);
    else this.#inFlight.delete(clientId);
    this.#total--;
  }

  async #attempt(delivery: ClaimedDelivery): Promise<void> {
    const links: Link[] = [];
    if (delivery.traceParent) {
      const caused = trace.getSpanContext(propagation.extract(context.active(), { traceparent: delivery.traceParent }));
      if (caused) links.push({ context: caused });
    }
    // A root of its own: an attempt outlives what caused it (a retry may come a day on); the link leads there.
    const span = tracer.startSpan('webhook deliver', {
      root: true,
      kind: SpanKind.CLIENT,
      links,
      attributes: { 'webhook.event': delivery.type, 'webhook.attempt': delivery.attempts + 1 },
    });
    const began = performance.now();
    let outcome: AttemptOutcome;
    try {
      outcome = await this.#send(delivery);
    } catch (error) {
      // The secret could not be opened (another key): retried, as any failure, until it gives up.
      this.#options.logger.error({ err: error, webhookId: delivery.webhookId }, 'a webhook delivery could not be signed');
      outcome = this.#failed(delivery, null);
    }
    span.setAttribute('http.response.status_code', outcome.status ?? 0);
    if (outcome.state !== 'DELIVERED') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.state });
    span.end();
    const recorded = await this.#options.store.recordAttempt(delivery, this.#owner, outcome).catch((error: unknown) => {
      this.#options.logger.warn(
        { error: (error as Error).message, deliveryId: delivery.id },
        'a webhook attempt could not be recorded: its claim runs out, and it is attempted again',
      );
      return false;
    });
    if (!recorded) return;
    const counted: DeliveryOutcome =
      outcome.state === 'DELIVERED' ? 'delivered' : outcome.state === 'RETRYING' ? 'retried' : outcome.disableEndpoint ? 'gone' : 'failed';
    this.#options.observe?.(counted, (performance.now() - began) / 1_000);
  }

  async #send(delivery: ClaimedDelivery): Promise<AttemptOutcome> {
    const seal = await this.#options.seal();
    if (!seal) throw new Error('no key to open webhook signing secrets with');
    const signer = new Webhook(seal.open(delivery.sealedSecret));
    const at = new Date(this.#timers.now());
    const headers = {
      'content-type': 'application/json',
      'webhook-id': delivery.messageId,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1_000)),
      'webhook-signature': signer.sign(delivery.messageId, at, delivery.payload),
      'user-agent': 'bulk-import-gateway-webhooks',
    };
    const answer = await postWebhook(this.#options.dispatcher, new URL(delivery.url), headers, delivery.payload, {
      timeoutMs: this.#options.timeoutMs ?? 10_000,
      maxAnswerBytes: MAX_ANSWER_BYTES,
    });
    const status = 'status' in answer && answer.status !== undefined ? answer.status : null;
    if (status !== null && status >= 200 && status < 300) return { state: 'DELIVERED', status };
    if (status === 410) return { state: 'FAILED', status, disableEndpoint: true };
    return this.#failed(delivery, status);
  }

  /** Retried at growing intervals (first `firstRetryMs`, ×5 each, at most an hour, ±20%) until `giveUpAfterMs` after the event. */
  #failed(delivery: ClaimedDelivery, status: number | null): AttemptOutcome {
    const now = this.#timers.now();
    const wait = Math.min(this.#options.firstRetryMs * 5 ** delivery.attempts, 60 * 60 * 1_000) * (0.8 + 0.4 * this.#random());
    const next = now + Math.round(wait);
    if (next - delivery.eventCreatedAt > this.#options.giveUpAfterMs) return { state: 'FAILED', status, disableEndpoint: false };
    return { state: 'RETRYING', status, nextAttemptAt: next };
  }
}
