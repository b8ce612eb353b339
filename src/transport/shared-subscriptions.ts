import type { ExecutionResult } from 'graphql';
import { LatestValueListener } from '../lib/latest-value-listener.js';

type Result = ExecutionResult;
type SubscribeOutcome = AsyncIterable<Result> | Result;

export interface SharingStats {
  /** Distinct (document, variables, credential) executions running. */
  groups: number;
  /** Subscribers attached to them. */
  subscribers: number;
  /** Results handed to subscribers. */
  pushed: number;
  /** Results the executions produced (each handed to every subscriber of its group). */
  produced: number;
  /** Results a slow subscriber skipped because a newer one replaced them. */
  coalesced: number;
}

/**
 * Executes each distinct subscription once and hands the same result objects to all its
 * subscribers.
 *
 * Without it, every subscriber of an import runs its own GraphQL execution of every state (and
 * 10,000 dashboards on one import cost 10,000 executions per change). Subscribers are grouped by
 * a key that must cover everything the result depends on — document, operation, variables and
 * the credential's fingerprint (the caller builds it) — and each group runs one execution whose
 * results fan out to latest-value listeners: a joining subscriber gets the last result at once,
 * a slow one skips to the newest, and the last one leaving stops the execution.
 */
export class SharedSubscriptions {
  /** Called before a result fans out to a group's subscribers (the transport batches socket writes). */
  readonly #onFanOut: () => void;
  /** Told when an execution's stream fails; its subscribers are completed rather than left hanging. */
  readonly #onError: (error: unknown) => void;
  readonly #groups = new Map<string, Group>();
  /** Executions being started: subscribers arriving meanwhile wait for them instead of starting their own. */
  readonly #starting = new Map<string, Promise<Group | undefined>>();
  readonly #totals: Totals = { pushed: 0, produced: 0, coalesced: 0 };

  constructor(options: { onFanOut?: () => void; onError?: (error: unknown) => void } = {}) {
    this.#onFanOut = options.onFanOut ?? (() => undefined);
    this.#onError = options.onError ?? (() => undefined);
  }

  async subscribe(key: string, start: () => Promise<SubscribeOutcome> | SubscribeOutcome): Promise<SubscribeOutcome> {
    // No await unless someone is starting this execution: the check and the claim below must not be split.
    const starting = this.#starting.get(key);
    const running = this.#groups.get(key) ?? (starting && (await starting));
    if (running && !running.closed) return running.join();

    let started!: (group: Group | undefined) => void;
    this.#starting.set(key, new Promise((resolve) => (started = resolve)));
    let group: Group | undefined;
    try {
      const outcome = await start();
      // A result instead of a stream (an error before execution): nothing to share.
      if (!isAsyncIterable(outcome)) return outcome;
      group = new Group(outcome, this.#totals, this.#onFanOut, this.#onError, () => this.#groups.delete(key));
      this.#groups.set(key, group);
      return group.join();
    } finally {
      this.#starting.delete(key);
      started(group);
    }
  }

  stats(): SharingStats {
    const groups = [...this.#groups.values()];
    return {
      groups: groups.length,
      subscribers: groups.reduce((sum, group) => sum + group.size, 0),
      pushed: this.#totals.pushed,
      produced: this.#totals.produced,
      coalesced: this.#totals.coalesced + groups.reduce((sum, group) => sum + group.coalesced, 0),
    };
  }
}

interface Totals {
  pushed: number;
  produced: number;
  coalesced: number;
}

class Group {
  readonly #source: AsyncIterable<Result>;
  readonly #members = new Set<LatestValueListener<Result>>();
  readonly #totals: Totals;
  readonly #onFanOut: () => void;
  readonly #onError: (error: unknown) => void;
  readonly #onClosed: () => void;
  #last: Result | undefined;
  #closed = false;

  constructor(source: AsyncIterable<Result>, totals: Totals, onFanOut: () => void, onError: (error: unknown) => void, onClosed: () => void) {
    this.#source = source;
    this.#totals = totals;
    this.#onFanOut = onFanOut;
    this.#onError = onError;
    this.#onClosed = onClosed;
    void this.#pump();
  }

  get size(): number {
    return this.#members.size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get coalesced(): number {
    return [...this.#members].reduce((sum, member) => sum + member.coalesced, 0);
  }

  join(): LatestValueListener<Result> {
    const member = new LatestValueListener<Result>((left) => this.#leave(left));
    this.#members.add(member);
    if (this.#last) {
      member.push(this.#last);
      this.#totals.pushed++;
    }
    return member;
  }

  async #pump(): Promise<void> {
    try {
      for await (const result of this.#source) {
        this.#last = result;
        this.#totals.produced++;
        this.#totals.pushed += this.#members.size;
        this.#onFanOut();
        for (const member of this.#members) member.push(result);
      }
    } catch (error) {
      // Not expected (graphql-js turns resolver errors into results), but never an unhandled rejection.
      this.#onError(error);
    } finally {
      this.#close();
      for (const member of [...this.#members]) {
        this.#totals.coalesced += member.coalesced;
        member.end();
      }
    }
  }

  #leave(member: LatestValueListener<Result>): void {
    if (!this.#members.delete(member)) return;
    this.#totals.coalesced += member.coalesced;
    if (this.#members.size > 0) return;
    this.#close();
    // The execution's return() reaches the status hub's listener, which stops its poller.
    void closeIterable(this.#source);
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClosed();
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<Result> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/** Ends an execution's iterator (graphql-js results are their own iterators). */
function closeIterable(iterable: AsyncIterable<Result>): Promise<unknown> | undefined {
  return (iterable as Partial<AsyncIterator<Result>>).return?.();
}
