import { LatestValueListener } from './latest-value-listener.js';

export interface LatestValueBroadcastOptions {
  /**
   * Called when the last listener leaves (its consumer returned) while the broadcast is open:
   * the producer has nobody left to produce for and should stop. Not called after `end()`.
   * @default nothing is called
   */
  onLastListenerLeft?: () => void;
}

/**
 * One producer, many latest-value listeners: each published value goes to every listener, a
 * listener that joins late gets the last value at once, and `end()` lets every listener read
 * what it has, then completes it.
 *
 * It also counts what reached listeners — values handed over, and values a slow listener never
 * read because a newer one replaced them — so that every stage built on it (the status feed,
 * shared subscription executions) reports the same numbers the same way.
 */
export class LatestValueBroadcast<T> {
  readonly #listeners = new Set<LatestValueListener<T>>();
  readonly #onLastListenerLeft: () => void;
  #last: { value: T } | undefined;
  #ended = false;
  #published = 0;
  #pushed = 0;
  /** Coalesced counts of listeners that have left (the live ones are summed when asked). */
  #coalescedByGone = 0;

  constructor(options: LatestValueBroadcastOptions = {}) {
    this.#onLastListenerLeft = options.onLastListenerLeft ?? (() => undefined);
  }

  /** Listeners attached now. */
  get size(): number {
    return this.#listeners.size;
  }

  /** Values published while open. */
  get published(): number {
    return this.#published;
  }

  /** Values handed to listeners: each published value once per listener, plus the last value for each joiner. */
  get pushed(): number {
    return this.#pushed;
  }

  /** Values replaced before a slow listener read them (latest wins). */
  get coalesced(): number {
    let live = 0;
    for (const listener of this.#listeners) live += listener.coalesced;
    return this.#coalescedByGone + live;
  }

  /** A new listener, handed the last value (if any) at once; its `return()` detaches it. */
  listen(): LatestValueListener<T> {
    const listener = new LatestValueListener<T>((left) => this.#leave(left));
    if (this.#last) {
      listener.push(this.#last.value);
      this.#pushed++;
    }
    // Joining an ended broadcast: the last value, then completion.
    if (this.#ended) listener.end();
    else this.#listeners.add(listener);
    return listener;
  }

  /** Hands `value` to every listener and keeps it for later joiners; ignored once ended. */
  publish(value: T): void {
    if (this.#ended) return;
    this.#last = { value };
    this.#published++;
    this.#pushed += this.#listeners.size;
    for (const listener of this.#listeners) listener.push(value);
  }

  /** No more values: each listener reads its unread one, if any, then completes. Idempotent. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    for (const listener of listeners) {
      this.#coalescedByGone += listener.coalesced;
      listener.end();
    }
  }

  #leave(listener: LatestValueListener<T>): void {
    // Listeners ended by end() were removed already: their leaving is no news.
    if (!this.#listeners.delete(listener)) return;
    this.#coalescedByGone += listener.coalesced;
    if (this.#listeners.size === 0) this.#onLastListenerLeft();
  }
}
