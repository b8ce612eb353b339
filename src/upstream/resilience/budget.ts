import { GatewayError } from '../../errors/gateway-error.js';
import { systemTimers, type Timers } from '../../lib/timers.js';

export interface BudgetOptions {
  /** Most upstream requests in flight at once. */
  maxConcurrent: number;
  /** Most upstream requests started per second (token bucket of one second's worth). */
  maxPerSecond: number;
  /** Most requests in flight at once for one clientId (its share of `maxConcurrent`). @default maxConcurrent */
  maxPerClient?: number;
  /** @default systemTimers */
  timers?: Timers;
}

/**
 * What a slot is for, in the order a clientId's waiting calls are served:
 *
 * 1. `write`: Initiate, Stage, Execute and service-token requests — someone waits, and each is
 *    one of a kind;
 * 2. `poll`: the status of an import that runs (or whose state is not known yet) — one request
 *    serves every subscriber of the import, who expects to see it move;
 * 3. `read`: importSummary, `_entities` and failedRecords — someone waits, but reads come in
 *    bulk (aliases, entities, pages) and one serves one caller;
 * 4. `idle-poll`: the status of an import that is initiated or staging — only the gateway's own
 *    writes change it, and executeImport refreshes its subscribers at once.
 */
export type SlotClass = 'write' | 'poll' | 'read' | 'idle-poll';

const CLASS_ORDER: readonly SlotClass[] = ['write', 'poll', 'read', 'idle-poll'];

interface Waiter {
  client: ClientQueue;
  slotClass: SlotClass;
  resolve: (release: () => void) => void;
  reject: (error: unknown) => void;
  timer: unknown;
  granted: boolean;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** One clientId's slots in flight and calls waiting, by class. Kept only while it has either. */
interface ClientQueue {
  clientId: string;
  inFlight: number;
  waiting: number;
  queues: Record<SlotClass, Waiter[]>;
}

/**
 * The gateway's upstream budget: a cap on concurrent requests and on requests per second, shared
 * fairly among the MyPreferences clientIds (tenants).
 *
 * - **Per-clientId queues served in turn.** Waiting calls queue per clientId; whenever a slot and
 *   a rate token are free, the next clientId in the round that has a call waiting and is under its
 *   cap gets one slot, then goes to the back of the round. A tenant with 300 calls waiting delays
 *   another tenant's call by at most one grant per tenant waiting, not by 300.
 * - **A cap per clientId** (`maxPerClient`): a tenant whose calls are slow or hang holds at most
 *   its share of the slots, for as long as its requests last (each bounded by the client's attempt
 *   deadline); the rest stay free for the others.
 * - **Within a clientId, by class** ({@link SlotClass}), FIFO within a class.
 *
 * A call that may wait (`maxWaitMs`, finite for calls someone waits on) and waits longer fails
 * with UPSTREAM_UNAVAILABLE (`reason: BUDGET_EXHAUSTED`). Polls wait as long as needed: since a
 * poller schedules its next poll after the current one ends, their intervals stretch under
 * pressure instead of provoking 429s. A call whose signal aborts leaves its queue at once.
 */
export class UpstreamBudget {
  readonly #maxConcurrent: number;
  readonly #maxPerSecond: number;
  readonly #maxPerClient: number;
  readonly #timers: Timers;
  readonly #clients = new Map<string, ClientQueue>();
  /** ClientIds with calls waiting, in the order they will be served. */
  readonly #round: ClientQueue[] = [];
  #inFlight = 0;
  #waiting = 0;
  #tokens: number;
  #refilledAt: number;
  #refillTimer: unknown;
  #peak = 0;

  constructor(options: BudgetOptions) {
    this.#maxConcurrent = options.maxConcurrent;
    this.#maxPerSecond = options.maxPerSecond;
    this.#maxPerClient = Math.max(1, Math.min(options.maxPerClient ?? options.maxConcurrent, options.maxConcurrent));
    this.#timers = options.timers ?? systemTimers;
    this.#tokens = options.maxPerSecond;
    this.#refilledAt = this.#timers.now();
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** The highest concurrency reached (for tests and metrics). */
  get peak(): number {
    return this.#peak;
  }

  get waiting(): number {
    return this.#waiting;
  }

  /** ClientIds holding or waiting for slots (each kept only while it does). */
  get clients(): number {
    return this.#clients.size;
  }

  /** Slots `clientId` holds now. */
  inFlightOf(clientId: string): number {
    return this.#clients.get(clientId)?.inFlight ?? 0;
  }

  /**
   * Resolves with a release function once a slot is granted to `clientId` for a call of
   * `slotClass`; rejects with BUDGET_EXHAUSTED after `maxWaitMs`, or with the signal's reason once
   * it aborts.
   */
  acquire(clientId: string, slotClass: SlotClass, maxWaitMs: number, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      let client = this.#clients.get(clientId);
      if (!client) {
        client = { clientId, inFlight: 0, waiting: 0, queues: { write: [], poll: [], read: [], 'idle-poll': [] } };
        this.#clients.set(clientId, client);
      }
      const waiter: Waiter = { client, slotClass, resolve, reject, timer: undefined, granted: false, signal, onAbort: undefined };
      client.queues[slotClass].push(waiter);
      client.waiting++;
      this.#waiting++;
      if (client.waiting === 1) this.#round.push(client);
      this.#drain();
      if (waiter.granted) return; // at once: no timer, no listener

      if (Number.isFinite(maxWaitMs)) {
        waiter.timer = this.#timers.setTimeout(
          () =>
            this.#leave(
              waiter,
              new GatewayError('UPSTREAM_UNAVAILABLE', 'The gateway is at its limit of requests to MyPreferences; try again shortly.', {
                reason: 'BUDGET_EXHAUSTED',
                retryAfterSeconds: 1,
              }),
            ),
          maxWaitMs,
        );
      }
      if (signal) {
        waiter.onAbort = () => this.#leave(waiter, signal.reason);
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
    });
  }

  /** Takes `waiter` out of its queue (it was not granted) and rejects it. */
  #leave(waiter: Waiter, error: unknown): void {
    const queue = waiter.client.queues[waiter.slotClass];
    const index = queue.indexOf(waiter);
    if (index === -1) return;
    queue.splice(index, 1);
    this.#dequeued(waiter);
    waiter.reject(error);
    this.#forgetIfIdle(waiter.client);
  }

  /** Bookkeeping of a waiter that left its queue, granted or not: its timer and abort listener go. */
  #dequeued(waiter: Waiter): void {
    const { client } = waiter;
    client.waiting--;
    this.#waiting--;
    if (client.waiting === 0) this.#round.splice(this.#round.indexOf(client), 1);
    this.#timers.clearTimeout(waiter.timer);
    if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
  }

  #forgetIfIdle(client: ClientQueue): void {
    if (client.inFlight === 0 && client.waiting === 0) this.#clients.delete(client.clientId);
  }

  #releaser(client: ClientQueue): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inFlight--;
      client.inFlight--;
      this.#forgetIfIdle(client);
      this.#drain();
    };
  }

  #drain(): void {
    for (;;) {
      this.#refill();
      if (this.#inFlight >= this.#maxConcurrent || this.#tokens < 1) break;
      // The first clientId in the round that may take another slot; those at their cap keep their place.
      const index = this.#round.findIndex((client) => client.inFlight < this.#maxPerClient);
      if (index === -1) break;
      const client = this.#round[index]!;
      const queue = CLASS_ORDER.map((slotClass) => client.queues[slotClass]).find((waiting) => waiting.length > 0)!;
      const waiter = queue.shift()!;
      this.#dequeued(waiter);
      // Served: to the back of the round, if it still has calls waiting.
      if (client.waiting > 0) {
        this.#round.splice(this.#round.indexOf(client), 1);
        this.#round.push(client);
      }
      this.#tokens--;
      this.#inFlight++;
      client.inFlight++;
      this.#peak = Math.max(this.#peak, this.#inFlight);
      waiter.granted = true;
      waiter.resolve(this.#releaser(client));
    }
    // Out of tokens with callers waiting: look again when the bucket has refilled a little.
    if (this.#waiting > 0 && this.#tokens < 1 && !this.#refillTimer) {
      this.#refillTimer = this.#timers.setTimeout(
        () => {
          this.#refillTimer = undefined;
          this.#drain();
        },
        Math.ceil(1000 / this.#maxPerSecond),
      );
    }
  }

  #refill(): void {
    const now = this.#timers.now();
    const elapsed = now - this.#refilledAt;
    if (elapsed <= 0) return;
    this.#tokens = Math.min(this.#maxPerSecond, this.#tokens + (elapsed * this.#maxPerSecond) / 1000);
    this.#refilledAt = now;
  }

  /** Fails every waiter (shutdown). */
  close(): void {
    this.#timers.clearTimeout(this.#refillTimer);
    this.#refillTimer = undefined;
    for (const client of [...this.#round]) {
      for (const slotClass of CLASS_ORDER) {
        for (const waiter of [...client.queues[slotClass]]) {
          this.#leave(waiter, new GatewayError('UPSTREAM_UNAVAILABLE', 'The gateway is shutting down.', { reason: 'SHUTTING_DOWN' }));
        }
      }
    }
  }
}
