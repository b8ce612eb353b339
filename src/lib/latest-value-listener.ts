/**
 * One subscriber's view of a stream of states: a single slot holding the newest value it has
 * not read yet, behind an async-iterator face.
 *
 * - Latest wins: a value pushed while an unread one is waiting replaces it (a slow consumer
 *   skips intermediate states instead of making anything queue). The replaced count is kept for
 *   metrics.
 * - `return()` detaches at once, even while a `next()` is parked waiting for a value. A plain
 *   `async function*` parked on `await` would only notice on its next value, keeping its poller
 *   alive; this is why the listener is hand-written.
 * - `end()` lets the consumer read the last value, then finishes the iteration.
 */
export class LatestValueListener<T> implements AsyncIterableIterator<T> {
  #unread: { value: T } | undefined;
  #waiting: ((result: IteratorResult<T>) => void) | undefined;
  #ended = false;
  #detached = false;
  #coalesced = 0;

  /** @param onDetach called once, when the consumer returns early or the stream has been fully read. */
  constructor(private readonly onDetach: (listener: LatestValueListener<T>) => void) {}

  /** Values replaced before the consumer read them. */
  get coalesced(): number {
    return this.#coalesced;
  }

  push(value: T): void {
    if (this.#ended) return;
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = undefined;
      waiting({ value, done: false });
      return;
    }
    if (this.#unread) this.#coalesced++;
    this.#unread = { value };
  }

  /** No more values: the consumer gets the unread one, if any, then completion. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#waiting) this.#finish();
  }

  next(): Promise<IteratorResult<T>> {
    const unread = this.#unread;
    if (unread) {
      this.#unread = undefined;
      return Promise.resolve({ value: unread.value, done: false });
    }
    if (this.#ended || this.#detached) return Promise.resolve(this.#finish());
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.#unread = undefined;
    this.#ended = true;
    return Promise.resolve(this.#finish());
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #finish(): IteratorResult<T> {
    const done: IteratorResult<T> = { value: undefined, done: true };
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.(done);
    if (!this.#detached) {
      this.#detached = true;
      this.onDetach(this);
    }
    return done;
  }
}
