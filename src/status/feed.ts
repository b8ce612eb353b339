import type { UpstreamCredential } from '../credentials/upstream-credential.js';
import type { BulkImport } from '../domain/bulk-import.js';
import type { ImportRef } from '../domain/import-ref.js';
import { LastState } from '../domain/progress.js';
import { LatestValueBroadcast } from '../lib/latest-value-broadcast.js';
import type { UpstreamImportState } from '../mypreferences-contract.js';
import type { StatusEvent, StatusListener } from './status-event.js';

/** Where a feed's events come from: a local poller, or the cluster through Redis. */
export interface FeedSource {
  /** The import changed through this gateway: take `state` (fetched with the feed's credential) or ask upstream now. */
  refresh(state?: UpstreamImportState): void;
  /**
   * Asks upstream now and reports the state read even if unchanged (a subscriber joined a feed
   * only watched, whose last state may be a watch interval old). Only a local poller can.
   */
  resend?(): void;
  /** Stops for good: no more events, nothing left running. */
  stop(): void;
}

/** What a source needs to know of its feed. */
export interface FeedTarget {
  /** The poller key: (clientId, accessToken, upstream credential id), unambiguous. */
  key: string;
  ref: ImportRef;
  credential: UpstreamCredential;
  deliver(event: StatusEvent): void;
  /** The feed's only listeners are watches (nobody subscribes on this process): poll at the watch interval. */
  watchedOnly(): boolean;
  /** A state just read with the feed's credential: a local poller starts from it instead of polling at once. */
  initial?: UpstreamImportState | undefined;
}

export type FeedSourceFactory = (target: FeedTarget) => FeedSource;

/**
 * The subscribers of one poller key on this process, and the one source feeding them. It hands
 * a joining listener the last state at once, passes on only states that changed and move
 * forward, ends every listener after a terminal state or an error, and stops its source when
 * its last listener leaves.
 */
export class Feed {
  readonly key: string;
  readonly ref: ImportRef;
  readonly #broadcast = new LatestValueBroadcast<StatusEvent>({ onLastListenerLeft: () => this.#close(undefined) });
  readonly #source: FeedSource;
  readonly #onClosed: (feed: Feed, final: BulkImport | undefined) => void;
  readonly #last = new LastState();
  #closed = false;
  #changes = 0;
  /** Listeners that are watches (`listen({ watch: true })`), not subscribers. */
  #watches = 0;
  /** Events handed to watches: `pushed` counts what reached subscribers only, as its metric says. */
  #watchPushes = 0;
  /** Subscribers that joined a feed only watched: handed the next state read, changed or not. */
  readonly #awaitingFresh = new Set<StatusListener>();

  constructor(options: {
    key: string;
    ref: ImportRef;
    credential: UpstreamCredential;
    initial?: UpstreamImportState | undefined;
    createSource: FeedSourceFactory;
    onClosed: (feed: Feed, final: BulkImport | undefined) => void;
  }) {
    this.key = options.key;
    this.ref = options.ref;
    this.#onClosed = options.onClosed;
    this.#source = options.createSource({
      key: options.key,
      ref: options.ref,
      credential: options.credential,
      initial: options.initial,
      deliver: (event) => this.#deliver(event),
      watchedOnly: () => this.#watches > 0 && this.subscriberCount === 0,
    });
  }

  /** States accepted from the source and fanned out (each a change). */
  get changes(): number {
    return this.#changes;
  }

  /** Events handed to listeners (changes × listeners at the time, plus first states for joiners). */
  /** Events handed to subscribers (those handed to watches aside). */
  get pushed(): number {
    return this.#broadcast.pushed - this.#watchPushes;
  }

  get listenerCount(): number {
    return this.#broadcast.size;
  }

  /** Listeners that are subscribers, watches aside. */
  get subscriberCount(): number {
    return this.#broadcast.size - this.#watches;
  }

  get watchCount(): number {
    return this.#watches;
  }

  get lastState(): BulkImport | undefined {
    return this.#last.state;
  }

  /** States replaced before a slow listener read them. */
  get coalesced(): number {
    return this.#broadcast.coalesced;
  }

  /**
   * A new listener, handed the last state at once; its `return()` leaves the feed (the last one
   * leaving stops it). A watch keeps the feed polling, at the watch interval while it is alone;
   * the first subscriber joining a feed only watched has the import polled now, at its pace.
   */
  listen(options: { watch?: boolean } = {}): StatusListener {
    if (options.watch) {
      this.#watches++;
      const before = this.#broadcast.pushed;
      const listener = this.#broadcast.listen(() => this.#watches--);
      this.#watchPushes += this.#broadcast.pushed - before;
      return listener;
    }
    const wasWatchedOnly = this.#watches > 0 && this.subscriberCount === 0 && !this.#closed;
    if (!wasWatchedOnly) return this.#broadcast.listen();
    if (!this.#source.resend) {
      // The cluster's source: the last state now, a fresher one when the holder's next poll sees a change.
      const listener = this.#broadcast.listen();
      this.#source.refresh();
      return listener;
    }
    // Not the watch's last state, which may be a watch interval old: the state read now, changed or not.
    const listener = this.#broadcast.listen(undefined, false);
    this.#awaitingFresh.add(listener);
    this.#source.resend();
    return listener;
  }

  refresh(state?: UpstreamImportState): void {
    if (!this.#closed) this.#source.refresh(state);
  }

  /** Ends every listener with `event` (an error) and stops. */
  fail(event: Extract<StatusEvent, { kind: 'error' }>): void {
    this.#deliver(event);
  }

  #deliver(event: StatusEvent): void {
    if (this.#closed) return;
    if (event.kind === 'error') {
      this.#watchPushes += this.#watches;
      this.#broadcast.publish(event);
      this.#close(undefined);
      return;
    }
    if (!this.#last.accept(event.state)) {
      // Unchanged, but read for subscribers that have no state yet (those that left are ignored by push).
      for (const listener of this.#awaitingFresh) listener.push({ kind: 'state', state: this.#last.state ?? event.state });
      this.#awaitingFresh.clear();
      return;
    }
    this.#awaitingFresh.clear();
    this.#changes++;
    this.#watchPushes += this.#watches;
    this.#broadcast.publish(event);
    if (event.state.isTerminal) this.#close(event.state);
  }

  #close(final: BulkImport | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#source.stop();
    this.#broadcast.end();
    this.#onClosed(this, final);
  }
}
