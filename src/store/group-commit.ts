import type { Kysely, Transaction } from 'kysely';

/** One write waiting for its batch, and who waits for its outcome. */
interface PendingWrite<DB> {
  /** Orders the batch's writes so that every batch takes the rows' locks in the same order. */
  key: string;
  write: (transaction: Transaction<DB>) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Runs the writes handed to it within one turn of the event loop in one transaction: one
 * commit, so one fsync of the embedded store (`synchronous = FULL`), for all of them.
 *
 * Every poll's state is recorded before it is pushed, and a gateway following 1,000 imports
 * records about 1,000 states a second: one transaction each made the fsyncs, which the embedded
 * store runs on the event loop, the loop's bottleneck (28% of a bench run's time, polls falling
 * to half their rate). Nothing waits longer for it: a write is committed at the end of the turn
 * it was handed over in, as it was before, and a busy loop gathers more writes per turn.
 *
 * A write that fails takes its batch's transaction with it: the batch's writes then run again,
 * each in a transaction of its own, so only the failing one fails.
 */
export class GroupCommit<DB> {
  readonly #db: () => Kysely<DB>;
  readonly #onCommit: (writes: number, seconds: number) => void;
  #pending: PendingWrite<DB>[] = [];

  /**
   * @param db the database (read when a batch commits: the store opens after this is made)
   * @param onCommit told of every transaction committed, with how many writes it carried and how long it took.
   */
  constructor(db: () => Kysely<DB>, onCommit: (writes: number, seconds: number) => void = () => undefined) {
    this.#db = db;
    this.#onCommit = onCommit;
  }

  /** Runs `write` in the transaction of this turn's batch; resolves once that transaction has committed. */
  run<T>(key: string, write: (transaction: Transaction<DB>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#pending.length === 0) setImmediate(() => void this.#commit());
      this.#pending.push({ key, write, resolve: resolve as (value: unknown) => void, reject });
    });
  }

  async #commit(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    // Stable: one row's writes keep their order.
    const ordered = [...batch].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    let results: unknown[];
    try {
      results = await this.#timed(ordered.length, (transaction) => sequentially(ordered, transaction));
    } catch (error) {
      if (ordered.length === 1) {
        ordered[0]!.reject(error);
        return;
      }
      for (const pending of ordered) {
        this.#timed(1, (transaction) => pending.write(transaction)).then(pending.resolve, pending.reject);
      }
      return;
    }
    for (const [i, pending] of ordered.entries()) pending.resolve(results[i]);
  }

  async #timed<T>(writes: number, work: (transaction: Transaction<DB>) => Promise<T>): Promise<T> {
    const began = performance.now();
    const result = await this.#db().transaction().execute(work);
    this.#onCommit(writes, (performance.now() - began) / 1_000);
    return result;
  }
}

async function sequentially<DB>(batch: readonly PendingWrite<DB>[], transaction: Transaction<DB>): Promise<unknown[]> {
  const results: unknown[] = [];
  for (const pending of batch) results.push(await pending.write(transaction));
  return results;
}
