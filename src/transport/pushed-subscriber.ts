import type { BroadcastListener } from '../lib/latest-value-broadcast.js';

/**
 * Where a subscriber's results are written as they come: one operation of a WebSocket
 * connection, whose frames are built from the payload text by splicing in the operation's id.
 * Latest wins there: while its connection cannot take more, a payload is held, a newer one
 * replaces it, and it is written when the connection drains.
 */
export interface PayloadSink {
  /** Writes one result's payload text, or holds it while the connection cannot take more. */
  write(payload: string): void;
  /** The results have ended: what is held is written now, so that it goes before the completion. */
  flush(): void;
  /** The subscriber left: what is held is dropped. */
  drop(): void;
  /** Payloads replaced while held (latest wins). */
  readonly coalesced: number;
  /** Told which subscriber writes here, once, as it is made: the transport hands it to its protocol. */
  attach(subscriber: AsyncIterableIterator<never>): void;
}

/** A result whose payload text is made once and shared (`SharedResult`). */
interface SerialisableResult {
  stringify(): string;
}

/**
 * A subscriber of a shared execution whose results are written for it, straight to its sink, as
 * the fan-out reaches it: no promise, iterator step or object per result.
 *
 * To its transport it is an iterator that yields nothing and ends when the results do, so the
 * transport keeps the protocol around it: graphql-ws registers the operation, then reads this
 * iterator (nothing comes), sends `complete` once it ends, and calls `return()` when the client
 * completes the operation or the connection closes. Results pushed before the transport starts
 * reading are held (the newest) and written when it does, so no frame goes out for an operation
 * graphql-ws has not registered yet.
 */
export class PushedSubscriber implements AsyncIterableIterator<never>, BroadcastListener<SerialisableResult> {
  readonly #sink: PayloadSink;
  readonly #onDetach: () => void;
  /** The transport has begun reading: results are written as they come. */
  #started = false;
  /** The newest result pushed before that. */
  #held: SerialisableResult | undefined;
  #replacedBeforeStart = 0;
  #waiting: ((result: IteratorResult<never>) => void) | undefined;
  #ended = false;
  #detached = false;

  /** @param onDetach called once, when the results have ended or the subscriber left. */
  constructor(sink: PayloadSink, onDetach: () => void) {
    this.#sink = sink;
    this.#onDetach = onDetach;
    sink.attach(this);
  }

  get coalesced(): number {
    return this.#replacedBeforeStart + this.#sink.coalesced;
  }

  push(result: SerialisableResult): void {
    if (this.#ended) return;
    if (this.#started) {
      this.#sink.write(result.stringify());
      return;
    }
    if (this.#held) this.#replacedBeforeStart++;
    this.#held = result;
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    // Not started: the first next() writes what is held and ends.
    if (!this.#started) return;
    this.#sink.flush();
    this.#finish();
  }

  next(): Promise<IteratorResult<never>> {
    if (!this.#started) {
      this.#started = true;
      const held = this.#held;
      this.#held = undefined;
      if (held) this.#sink.write(held.stringify());
      if (this.#ended) this.#sink.flush();
    }
    if (this.#ended) return Promise.resolve(this.#finish());
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<never>> {
    this.#ended = true;
    this.#held = undefined;
    this.#sink.drop();
    return Promise.resolve(this.#finish());
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #finish(): IteratorResult<never> {
    const done: IteratorResult<never> = { value: undefined, done: true };
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.(done);
    if (!this.#detached) {
      this.#detached = true;
      this.#onDetach();
    }
    return done;
  }
}
