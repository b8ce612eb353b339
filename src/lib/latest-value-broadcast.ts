import { LatestValueListener } from './latest-value-listener.js';

export interface LatestValueBroadcastOptions {
  /**
   * Called when the last listener leaves (its consumer returned) while the broadcast is open:
   * the producer has nobody left to produce for and should stop. Not called after `end()`.
   * @default nothing is called
   */
  onLastListenerLeft?: () => void;
  /**
   * Called once after `end()`, when every listener has been handed the last value and ended:
   * the counts are final from then on.
   * @default nothing is called
   */
  onEnded?: () => void;
  /**
   * How long one slice of a fan-out may hold the event loop, the listeners' own work included. A
   * value for many listeners goes out in slices, one per turn (`setImmediate`), so a fan-out to
   * 10,000 subscribers never holds the loop for its whole length: health checks, other imports'
   * pushes and new subscribes run in between. Each slice is sized from how long the one before
   * took, so the budget holds on any machine and for any downstream cost.
   * @default 10
   */
  sliceBudgetMs?: number;
  /**
   * Listeners in the first slice of a fan-out, before any slice has been timed.
   * @default 256
   */
  firstSliceSize?: number;
  /**
   * Milliseconds from some fixed point; tests inject one.
   * @default performance.now
   */
  clock?: () => number;
}

/** Fewer per slice and the turns themselves would be the cost. */
const MIN_SLICE_SIZE = 32;

/**
 * What a broadcast hands its values to. {@link LatestValueListener} (a stream a consumer reads)
 * is one; a listener may as well deliver each value itself, as it comes.
 */
export interface BroadcastListener<T> {
  /** Takes one value, synchronously: whatever it does with it must not make the fan-out wait. */
  push(value: T): void;
  /** No more values: it finishes what it holds, then tells the broadcast it has left. */
  end(): void;
  /** Values it replaced before they reached its consumer (latest wins). */
  readonly coalesced: number;
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
  readonly #listeners = new Set<BroadcastListener<T>>();
  readonly #onLastListenerLeft: () => void;
  readonly #onEnded: () => void;
  readonly #sliceBudgetMs: number;
  readonly #firstSliceSize: number;
  readonly #clock: () => number;
  /** A fan-out under way: the listeners it reaches, how far it has come, and the turn that goes on. */
  #fanOut: { listeners: BroadcastListener<T>[]; reached: number; next: NodeJS.Immediate } | undefined;
  #last: { value: T } | undefined;
  #ended = false;
  #published = 0;
  #pushed = 0;
  /** Coalesced counts of listeners that have left (the live ones are summed when asked). */
  #coalescedByGone = 0;

  constructor(options: LatestValueBroadcastOptions = {}) {
    this.#onLastListenerLeft = options.onLastListenerLeft ?? (() => undefined);
    this.#onEnded = options.onEnded ?? (() => undefined);
    this.#sliceBudgetMs = options.sliceBudgetMs ?? 10;
    this.#firstSliceSize = options.firstSliceSize ?? 256;
    this.#clock = options.clock ?? (() => performance.now());
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

  /**
   * A new listener, handed the last value (if any) at once unless `withLast` is false (the
   * producer will hand it a fresher one); its `return()` detaches it. `onDetach` is told once,
   * when its consumer returned or read the end.
   */
  listen(onDetach?: () => void, withLast = true): LatestValueListener<T> {
    return this.attach(
      (detached) =>
        new LatestValueListener<T>(() => {
          detached();
          onDetach?.();
        }),
      withLast,
    );
  }

  /**
   * Attaches the listener `create` makes, handed the last value (if any) at once unless `withLast`
   * is false. The listener calls `detached` once, when it leaves; the last one leaving before the
   * end tells the producer (`onLastListenerLeft`).
   */
  attach<L extends BroadcastListener<T>>(create: (detached: () => void) => L, withLast = true): L {
    const listener: L = create(() => this.#leave(listener));
    if (this.#last && (withLast || this.#ended)) {
      listener.push(this.#last.value);
      this.#pushed++;
    }
    // Joining an ended broadcast: the last value, then completion.
    if (this.#ended) listener.end();
    else this.#listeners.add(listener);
    return listener;
  }

  /**
   * Hands `value` to every listener — the first slice at once, the rest over the next turns —
   * and keeps it for later joiners; ignored once ended. A newer value published while a fan-out
   * is under way replaces it for the listeners not reached yet (latest wins), and starts over.
   */
  publish(value: T): void {
    if (this.#ended) return;
    this.#last = { value };
    this.#published++;
    this.#cancelFanOut();
    this.#handOver([...this.#listeners], 0, this.#firstSliceSize);
  }

  /**
   * Hands the last value to `size` of `listeners` from `reached` on, now; the rest go at the next
   * turn, in a slice sized to fill the budget at the pace of this one. Its listeners' work (their
   * consumers run as microtasks) ends before the next turn starts, so the gap measures that too.
   * A fan-out that completes after `end()` starts the ending.
   */
  #handOver(listeners: BroadcastListener<T>[], reached: number, size: number): void {
    const value = this.#last!.value;
    const handOne = (listener: BroadcastListener<T>) => {
      listener.push(value);
      this.#pushed++;
    };
    this.#inSlices(listeners, reached, size, handOne, () => {
      if (this.#ended) this.#endAll();
    });
  }

  /**
   * Applies `action` to `listeners[reached…]` still attached (one that left since gets nothing),
   * `size` of them now and the rest in slices over the next turns (the fan-out under way, which a
   * newer value cancels), then calls `done`.
   */
  #inSlices(listeners: BroadcastListener<T>[], reached: number, size: number, action: (listener: BroadcastListener<T>) => void, done: () => void): void {
    const startedAt = this.#clock();
    const end = Math.min(listeners.length, reached + size);
    for (let i = reached; i < end; i++) {
      const listener = listeners[i]!;
      if (this.#listeners.has(listener)) action(listener);
    }
    if (end === listeners.length) {
      this.#fanOut = undefined;
      done();
      return;
    }
    const next = setImmediate(() => {
      const perListenerMs = (this.#clock() - startedAt) / size;
      const nextSize = perListenerMs > 0 ? Math.floor(this.#sliceBudgetMs / perListenerMs) : listeners.length;
      this.#inSlices(listeners, end, Math.max(MIN_SLICE_SIZE, nextSize), action, done);
    });
    this.#fanOut = { listeners, reached: end, next };
  }

  #cancelFanOut(): void {
    if (!this.#fanOut) return;
    clearImmediate(this.#fanOut.next);
    this.#fanOut = undefined;
  }

  /**
   * No more values: each listener is handed the last value if a fan-out under way has not reached
   * it yet, then ended (a stream's consumer reads its unread value, then completes). The ending
   * waits for that fan-out and goes in slices too: what the fan-out's slices wrote leaves before
   * thousands of completions run, and they do not hold the loop at once. Idempotent.
   */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (!this.#fanOut) this.#endAll();
  }

  /** Ends every listener still attached, the first slice now; then `onEnded`. Publishing is over: nothing cancels it. */
  #endAll(): void {
    const endOne = (listener: BroadcastListener<T>) => {
      this.#listeners.delete(listener);
      this.#coalescedByGone += listener.coalesced;
      listener.end();
    };
    this.#inSlices([...this.#listeners], 0, this.#firstSliceSize, endOne, this.#onEnded);
  }

  #leave(listener: BroadcastListener<T>): void {
    // Listeners the ending reached were removed already: their leaving is no news.
    if (!this.#listeners.delete(listener)) return;
    this.#coalescedByGone += listener.coalesced;
    if (this.#listeners.size === 0 && !this.#ended) this.#onLastListenerLeft();
  }
}
