import type { ExecutionResult } from 'graphql';
import { LatestValueBroadcast } from '../lib/latest-value-broadcast.js';
import { type PayloadSink, PushedSubscriber } from './pushed-subscriber.js';
import { payloadText } from './result-text.js';

type Result = ExecutionResult;
type SubscribeOutcome = AsyncIterable<Result> | Result;

/**
 * A result of a shared execution, as its subscribers get it: its payload's JSON text is made at
 * most once, by whichever subscriber needs it first, and reused by all the others. yoga's
 * result processors use a result's own `stringify` when it has one (as graphql-jit's results
 * do), so an SSE subscriber writes the same text a WebSocket subscriber's frame carries.
 */
export interface SharedResult extends Result {
  /** The payload's JSON text. (yoga passes the result again, or its copy without yoga's internal extensions: the text is the same.) */
  stringify(): string;
}

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
  /** Results turned into JSON text: once per result of an execution, whatever its subscriber count. */
  serialised: number;
}

export interface SharedSubscriptionsOptions {
  /**
   * Told when an execution's stream fails; its subscribers are completed rather than left hanging.
   * @default the error is dropped
   */
  onError?: (error: unknown) => void;
  /**
   * Masks a result's errors, once for all the subscribers of its execution (`resultMasking`).
   * @default results are shared as they come
   */
  mask?: (result: Result) => Result;
}

/** How a subscriber takes its results. */
export interface JoinOptions {
  /** Told once, when this subscriber's stream has ended or it left. */
  onLeave?: () => void;
  /**
   * Where this subscriber's results are written as text, as they come (a WebSocket operation's
   * frames). Without one, the subscriber reads the result objects from the stream it gets.
   */
  pushTo?: PayloadSink;
}

/**
 * Executes each distinct subscription once, serialises each of its results once, and hands them
 * to all its subscribers.
 *
 * Without it, every subscriber of an import runs its own GraphQL execution of every state (and
 * 10,000 dashboards on one import cost 10,000 executions per change). Subscribers are grouped by
 * a key that must cover everything the result depends on — document, operation, variables and
 * the caller's sharing key (the caller builds it) — and each group runs one execution whose
 * results fan out through a latest-value broadcast: a joining subscriber gets the last result at
 * once, a slow one skips to the newest, and the last one leaving stops the execution.
 *
 * A subscriber either reads result objects from a stream (SSE, in-process callers) or has them
 * written for it as they come (`pushTo`: a WebSocket operation, whose frame is the shared text
 * with its operation id spliced in). Either way the text is made once per result; a pushed
 * subscriber costs no promise, generator step or object per result.
 *
 * Every subscriber passes through here, shared or not, so these stats are the subscription
 * metrics: counted once, where results reach subscribers.
 */
export class SharedSubscriptions {
  readonly #onError: (error: unknown) => void;
  readonly #mask: (result: Result) => Result;
  /** Running executions by key; an unshared one has a key of its own that nothing else can match. */
  readonly #groups = new Map<string | symbol, Group>();
  /** Executions that have ended, still handing their last result to their subscribers and completing them. */
  readonly #ending = new Set<Group>();
  /** Executions being started: subscribers arriving meanwhile wait for them instead of starting their own. */
  readonly #starting = new Map<string | symbol, Promise<Group | undefined>>();
  /** Counts of executions that have ended. */
  readonly #retired = { pushed: 0, produced: 0, coalesced: 0, serialised: 0 };

  constructor(options: SharedSubscriptionsOptions = {}) {
    this.#onError = options.onError ?? (() => undefined);
    this.#mask = options.mask ?? ((result) => result);
  }

  /**
   * Joins the execution running for `key`, or runs `start` and shares its stream. Without a key
   * (a caller whose results nobody else may see) the execution is this subscriber's alone.
   */
  async subscribe(key: string | undefined, start: () => Promise<SubscribeOutcome> | SubscribeOutcome, join: JoinOptions = {}): Promise<SubscribeOutcome> {
    const groupKey = key ?? Symbol('unshared');
    // No await unless someone is starting this execution: the check and the claim below must not be split.
    const starting = this.#starting.get(groupKey);
    const running = this.#groups.get(groupKey) ?? (starting && (await starting));
    if (running && !running.closed) return running.join(join);

    let started!: (group: Group | undefined) => void;
    this.#starting.set(groupKey, new Promise((resolve) => (started = resolve)));
    let group: Group | undefined;
    try {
      const outcome = await start();
      // A result instead of a stream (an error before execution): nothing to share.
      if (!isAsyncIterable(outcome)) return outcome;
      group = new Group(outcome, {
        onError: this.#onError,
        mask: this.#mask,
        onClosed: (closed) => this.#close(groupKey, closed),
        onEnded: (ended) => this.#retire(ended),
      });
      this.#groups.set(groupKey, group);
      return group.join(join);
    } finally {
      this.#starting.delete(groupKey);
      started(group);
    }
  }

  stats(): SharingStats {
    const stats: SharingStats = { groups: this.#groups.size, subscribers: 0, ...this.#retired };
    for (const { counts, serialised } of [...this.#groups.values(), ...this.#ending]) {
      stats.subscribers += counts.size;
      stats.pushed += counts.pushed;
      stats.produced += counts.published;
      stats.coalesced += counts.coalesced;
      stats.serialised += serialised;
    }
    return stats;
  }

  /** A closed execution is joined no more (a new subscriber of its key starts a new one); it ends its subscribers. */
  #close(key: string | symbol, group: Group): void {
    if (this.#groups.get(key) === group) this.#groups.delete(key);
    this.#ending.add(group);
  }

  #retire(group: Group): void {
    this.#ending.delete(group);
    // Every subscriber has had the last result and ended: the counts are final.
    this.#retired.pushed += group.counts.pushed;
    this.#retired.produced += group.counts.published;
    this.#retired.coalesced += group.counts.coalesced;
    this.#retired.serialised += group.serialised;
  }
}

interface GroupOptions {
  onError: (error: unknown) => void;
  mask: (result: Result) => Result;
  /** The execution has ended or lost its last subscriber. */
  onClosed: (group: Group) => void;
  /** After that, every subscriber has been handed the last result and ended. */
  onEnded: (group: Group) => void;
}

/** One execution and its subscribers. */
class Group {
  readonly #source: AsyncIterable<Result>;
  readonly #broadcast: LatestValueBroadcast<SharedResult>;
  readonly #options: GroupOptions;
  #closed = false;
  #serialised = 0;

  constructor(source: AsyncIterable<Result>, options: GroupOptions) {
    this.#source = source;
    this.#options = options;
    this.#broadcast = new LatestValueBroadcast<SharedResult>({
      onLastListenerLeft: () => {
        this.#close();
        // The execution's return() reaches the status hub's listener, which stops its poller.
        void closeIterable(this.#source);
      },
      onEnded: () => options.onEnded(this),
    });
    void this.#pump();
  }

  /** What reached this group's subscribers. */
  get counts(): Pick<LatestValueBroadcast<SharedResult>, 'size' | 'published' | 'pushed' | 'coalesced'> {
    return this.#broadcast;
  }

  /** Results turned into text so far. */
  get serialised(): number {
    return this.#serialised;
  }

  get closed(): boolean {
    return this.#closed;
  }

  join({ onLeave, pushTo }: JoinOptions): AsyncIterableIterator<Result> {
    if (!pushTo) return this.#broadcast.listen(onLeave);
    return this.#broadcast.attach(
      (detached) =>
        new PushedSubscriber(pushTo, () => {
          detached();
          onLeave?.();
        }),
    );
  }

  async #pump(): Promise<void> {
    try {
      for await (const result of this.#source) this.#broadcast.publish(this.#shared(this.#options.mask(result)));
    } catch (error) {
      // Not expected (graphql-js turns resolver errors into results), but never an unhandled rejection.
      this.#options.onError(error);
    } finally {
      this.#close();
    }
  }

  /**
   * `result` with its text made on first use, once. The `stringify` is not enumerable: a copy
   * that a later hook makes to change the result does not take the text of the original.
   */
  #shared(result: Result): SharedResult {
    let text: string | undefined;
    const stringify = () => {
      if (text === undefined) {
        text = payloadText(result);
        this.#serialised++;
      }
      return text;
    };
    return Object.defineProperty({ ...result }, 'stringify', { value: stringify }) as SharedResult;
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Closed before it ends: a small group's subscribers all end within end() itself.
    this.#options.onClosed(this);
    this.#broadcast.end();
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<Result> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/** Ends an execution's iterator (graphql-js results are their own iterators). */
function closeIterable(iterable: AsyncIterable<Result>): Promise<unknown> | undefined {
  return (iterable as Partial<AsyncIterator<Result>>).return?.();
}
