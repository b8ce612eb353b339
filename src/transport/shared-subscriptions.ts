import type { ExecutionResult } from 'graphql';
import { LatestValueBroadcast } from '../lib/latest-value-broadcast.js';

type Result = ExecutionResult;
type SubscribeOutcome = AsyncIterable<Result> | Result;

export interface SharingStats {
  /** Executions running (each shared by the subscribers of one key). */
  groups: number;
  /** Subscribers attached to them, on every transport. */
  subscribers: number;
  /** Results handed to subscribers. */
  pushed: number;
  /** Results the executions produced (each handed to every subscriber of its group). */
  produced: number;
  /** Results a slow subscriber skipped because a newer one replaced them. */
  coalesced: number;
}

export interface SharedSubscriptionsOptions {
  /**
   * Told when an execution's stream fails; its subscribers are completed rather than left hanging.
   * @default the error is dropped
   */
  onError?: (error: unknown) => void;
}

/**
 * Executes each distinct subscription once and hands the same result objects to all its
 * subscribers.
 *
 * Without it, every subscriber of an import runs its own GraphQL execution of every state (and
 * 10,000 dashboards on one import cost 10,000 executions per change). Subscribers are grouped by
 * a key that must cover everything the result depends on — document, operation, variables and
 * the caller's sharing key (the caller builds it) — and each group runs one execution whose
 * results fan out through a latest-value broadcast: a joining subscriber gets the last result at
 * once, a slow one skips to the newest, and the last one leaving stops the execution.
 *
 * Every subscriber passes through here, shared or not, so these stats are the subscription
 * metrics: counted once, where results reach subscribers.
 */
export class SharedSubscriptions {
  readonly #onError: (error: unknown) => void;
  /** Running executions by key; an unshared one has a key of its own that nothing else can match. */
  readonly #groups = new Map<string | symbol, Group>();
  /** Executions being started: subscribers arriving meanwhile wait for them instead of starting their own. */
  readonly #starting = new Map<string | symbol, Promise<Group | undefined>>();
  /** Counts of executions that have ended. */
  readonly #retired = { pushed: 0, produced: 0, coalesced: 0 };

  constructor(options: SharedSubscriptionsOptions = {}) {
    this.#onError = options.onError ?? (() => undefined);
  }

  /**
   * Joins the execution running for `key`, or runs `start` and shares its stream. Without a key
   * (a caller whose results nobody else may see) the execution is this subscriber's alone.
   * `onLeave` is told once, when this subscriber's stream has ended or it left.
   */
  async subscribe(key: string | undefined, start: () => Promise<SubscribeOutcome> | SubscribeOutcome, onLeave?: () => void): Promise<SubscribeOutcome> {
    const groupKey = key ?? Symbol('unshared');
    // No await unless someone is starting this execution: the check and the claim below must not be split.
    const starting = this.#starting.get(groupKey);
    const running = this.#groups.get(groupKey) ?? (starting && (await starting));
    if (running && !running.closed) return running.join(onLeave);

    let started!: (group: Group | undefined) => void;
    this.#starting.set(groupKey, new Promise((resolve) => (started = resolve)));
    let group: Group | undefined;
    try {
      const outcome = await start();
      // A result instead of a stream (an error before execution): nothing to share.
      if (!isAsyncIterable(outcome)) return outcome;
      group = new Group(outcome, this.#onError, (closed) => this.#retire(groupKey, closed));
      this.#groups.set(groupKey, group);
      return group.join(onLeave);
    } finally {
      this.#starting.delete(groupKey);
      started(group);
    }
  }

  stats(): SharingStats {
    const stats: SharingStats = { groups: this.#groups.size, subscribers: 0, ...this.#retired };
    for (const { counts } of this.#groups.values()) {
      stats.subscribers += counts.size;
      stats.pushed += counts.pushed;
      stats.produced += counts.published;
      stats.coalesced += counts.coalesced;
    }
    return stats;
  }

  #retire(key: string | symbol, group: Group): void {
    this.#groups.delete(key);
    // The group's broadcast has ended: its counts are final.
    this.#retired.pushed += group.counts.pushed;
    this.#retired.produced += group.counts.published;
    this.#retired.coalesced += group.counts.coalesced;
  }
}

/** One execution and its subscribers. */
class Group {
  readonly #source: AsyncIterable<Result>;
  readonly #broadcast: LatestValueBroadcast<Result>;
  readonly #onError: (error: unknown) => void;
  readonly #onClosed: (group: Group) => void;
  #closed = false;

  constructor(source: AsyncIterable<Result>, onError: (error: unknown) => void, onClosed: (group: Group) => void) {
    this.#source = source;
    this.#onError = onError;
    this.#onClosed = onClosed;
    this.#broadcast = new LatestValueBroadcast<Result>({
      onLastListenerLeft: () => {
        this.#close();
        // The execution's return() reaches the status hub's listener, which stops its poller.
        void closeIterable(this.#source);
      },
    });
    void this.#pump();
  }

  /** What reached this group's subscribers. */
  get counts(): Pick<LatestValueBroadcast<Result>, 'size' | 'published' | 'pushed' | 'coalesced'> {
    return this.#broadcast;
  }

  get closed(): boolean {
    return this.#closed;
  }

  join(onLeave?: () => void): AsyncIterableIterator<Result> {
    return this.#broadcast.listen(onLeave);
  }

  async #pump(): Promise<void> {
    try {
      for await (const result of this.#source) this.#broadcast.publish(result);
    } catch (error) {
      // Not expected (graphql-js turns resolver errors into results), but never an unhandled rejection.
      this.#onError(error);
    } finally {
      this.#close();
    }
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#broadcast.end();
    this.#onClosed(this);
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<Result> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/** Ends an execution's iterator (graphql-js results are their own iterators). */
function closeIterable(iterable: AsyncIterable<Result>): Promise<unknown> | undefined {
  return (iterable as Partial<AsyncIterator<Result>>).return?.();
}
