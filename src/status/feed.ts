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

  constructor(options: {
    key: string;
    ref: ImportRef;
    credential: UpstreamCredential;
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
      deliver: (event) => this.#deliver(event),
    });
  }

  /** States accepted from the source and fanned out (each a change). */
  get changes(): number {
    return this.#changes;
  }

  /** Events handed to listeners (changes × listeners at the time, plus first states for joiners). */
  get pushed(): number {
    return this.#broadcast.pushed;
  }

  get listenerCount(): number {
    return this.#broadcast.size;
  }

  get lastState(): BulkImport | undefined {
    return this.#last.state;
  }

  /** States replaced before a slow listener read them. */
  get coalesced(): number {
    return this.#broadcast.coalesced;
  }

  /** A new listener, handed the last state at once; its `return()` leaves the feed (the last one leaving stops it). */
  listen(): StatusListener {
    return this.#broadcast.listen();
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
      this.#broadcast.publish(event);
      this.#close(undefined);
      return;
    }
    if (!this.#last.accept(event.state)) return;
    this.#changes++;
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
