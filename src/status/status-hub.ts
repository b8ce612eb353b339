import type { UpstreamCredential } from '../credentials/upstream-credential.js';
import type { BulkImport } from '../domain/bulk-import.js';
import { type ImportRef, importKey, pollerKey } from '../domain/import-ref.js';
import { GatewayError } from '../errors/gateway-error.js';
import { ExpiringLruCache } from '../lib/expiring-lru-cache.js';
import { LatestValueListener } from '../lib/latest-value-listener.js';
import { systemTimers, type Timers } from '../lib/timers.js';
import type { Logger } from '../logger.js';
import type { UpstreamImportState } from '../mypreferences-contract.js';
import { Feed, type FeedSource, type FeedSourceFactory, type FeedTarget } from './feed.js';
import { type FetchStatus, Poller } from './poller.js';
import type { StatusEvent, StatusListener } from './status-event.js';
import { StatusSpans } from './status-spans.js';
import type { PollTiming } from './timing.js';

export interface StatusHubOptions {
  fetchStatus: FetchStatus;
  timing: PollTiming;
  logger: Logger;
  /** What pollers wait on. @default systemTimers */
  timers?: Timers;
  /** The jitter of poll intervals. @default Math.random */
  random?: () => number;
  /** Finished imports remembered for late subscribers. @default { maxEntries: 10_000, ttlMs: 600_000 } */
  terminalCache?: { maxEntries: number; ttlMs: number };
  /** How this process shares polling with others (cluster mode). @default none: it polls alone, with local pollers */
  coordination?: Coordination;
}

/** What the engine needs from a cluster (`src/cluster/` implements it over Redis). */
export interface Coordination {
  /** Decides who polls for a key: here, with `createLocalPoller`, or another process. */
  createSource(target: FeedTarget, createLocalPoller: FeedSourceFactory): FeedSource;
  /** Tells other processes that an import changed here, so that its pollers ask again now. */
  announceChange(ref: ImportRef): void;
}

/** What operators and tests can see of the engine; no credential, raw or hashed, appears. */
export interface StatusHubStats {
  /** Poller keys with subscribers on this process. */
  pollers: number;
  /** Subscribers and watches. */
  listeners: number;
  /** Watches (imports watched on this process, nobody subscribed or not). */
  watches: number;
  /** Status requests this process made upstream since it started. */
  upstreamCalls: number;
  terminalCached: number;
  /** States replaced before a slow subscriber read them (latest-wins), since the hub started. */
  coalesced: number;
  /** Distinct state changes fanned out, since the hub started. */
  changes: number;
  /** Events handed to subscribers, since the hub started. */
  pushed: number;
  imports: Array<{ clientId: string; accessToken: string; listeners: number; status: string | undefined }>;
}

/**
 * The importStatus engine: import → one feed per (clientId, accessToken, upstream credential id)
 * → many latest-value listeners.
 *
 * The first subscriber of a key starts its feed, the last one leaving stops it; subscribers of
 * a finished import are answered from a bounded cache. Keys carry the upstream credential's id (a
 * forwarded credential's fingerprint, or the service account), so data fetched with one
 * credential never reaches a holder of another.
 */
export class StatusHub {
  readonly #options: StatusHubOptions;
  readonly #timers: Timers;
  readonly #feeds = new Map<string, Feed>();
  /** Feeds of one import, whatever their credential: executeImport refreshes them all. */
  readonly #feedsByImport = new Map<string, Set<Feed>>();
  readonly #terminal: ExpiringLruCache<string, BulkImport>;
  #upstreamCalls = 0;
  readonly #spans = new StatusSpans();
  /** Counts of feeds that have closed. */
  #closedFeeds = { coalesced: 0, changes: 0, pushed: 0 };
  #closed = false;

  constructor(options: StatusHubOptions) {
    this.#options = options;
    this.#timers = options.timers ?? systemTimers;
    const cache = options.terminalCache ?? { maxEntries: 10_000, ttlMs: 10 * 60_000 };
    this.#terminal = new ExpiringLruCache(cache.maxEntries, cache.ttlMs, () => this.#timers.now());
  }

  /** The events of one import for one subscriber. The iterator's `return()` unsubscribes at once. */
  subscribe(ref: ImportRef, credential: UpstreamCredential): AsyncIterableIterator<StatusEvent> {
    return this.#listen(ref, credential, false);
  }

  /**
   * The events of one import for a watch (the {@link Watcher}): the same feed and poller as its
   * subscribers, polled at the watch interval (behind callers and subscribers) while only watches
   * listen. `return()` ends the watch.
   */
  watch(ref: ImportRef, credential: UpstreamCredential, known?: UpstreamImportState): AsyncIterableIterator<StatusEvent> {
    return this.#listen(ref, credential, true, known);
  }

  /** `known`: the state just read with `credential`; a feed created for it starts from it instead of polling at once (not in a cluster, where the poller may start later, elsewhere). */
  #listen(ref: ImportRef, credential: UpstreamCredential, watch: boolean, known?: UpstreamImportState): AsyncIterableIterator<StatusEvent> {
    if (this.#closed) throw shuttingDown();
    const key = pollerKey(ref, credential.id);

    const finished = this.#terminal.get(key);
    if (finished) {
      const listener: StatusListener = new LatestValueListener(() => undefined);
      listener.push({ kind: 'state', state: finished });
      listener.end();
      return listener;
    }

    const initial = this.#options.coordination ? undefined : known;
    const feed = this.#feeds.get(key) ?? this.#createFeed(key, ref, credential, initial);
    return feed.listen({ watch });
  }

  /**
   * An import changed through this gateway (executeImport). The feed of the credential that made
   * the change takes its response as the newest state; feeds of other credentials ask upstream
   * at once rather than receive data fetched with somebody else's credential.
   */
  importChanged(ref: ImportRef, credential: UpstreamCredential, state: UpstreamImportState): void {
    // The polls and pushes that follow link back to the operation that caused them (tracing on).
    this.#spans.importChanged(ref);
    this.#options.coordination?.announceChange(ref);
    const key = pollerKey(ref, credential.id);
    for (const feed of this.#feedsByImport.get(importKey(ref)) ?? []) {
      if (feed.key === key) feed.refresh(state);
      else feed.refresh();
    }
  }

  stats(): StatusHubStats {
    const feeds = [...this.#feeds.values()];
    return {
      pollers: feeds.length,
      listeners: feeds.reduce((sum, feed) => sum + feed.listenerCount, 0),
      watches: feeds.reduce((sum, feed) => sum + feed.watchCount, 0),
      upstreamCalls: this.#upstreamCalls,
      terminalCached: this.#terminal.size,
      coalesced: this.#closedFeeds.coalesced + feeds.reduce((sum, feed) => sum + feed.coalesced, 0),
      changes: this.#closedFeeds.changes + feeds.reduce((sum, feed) => sum + feed.changes, 0),
      pushed: this.#closedFeeds.pushed + feeds.reduce((sum, feed) => sum + feed.pushed, 0),
      imports: feeds.map((feed) => ({
        clientId: feed.ref.clientId,
        accessToken: feed.ref.accessToken,
        listeners: feed.listenerCount,
        status: feed.lastState?.status,
      })),
    };
  }

  /** Ends every subscription (UPSTREAM_UNAVAILABLE, reason SHUTTING_DOWN) and stops all polling. */
  close(): void {
    this.#closed = true;
    for (const feed of [...this.#feeds.values()]) feed.fail({ kind: 'error', error: shuttingDown() });
    this.#terminal.clear();
  }

  #createFeed(key: string, ref: ImportRef, credential: UpstreamCredential, initial: UpstreamImportState | undefined): Feed {
    const feed = new Feed({
      key,
      ref,
      credential,
      initial,
      createSource: (target) =>
        this.#options.coordination ? this.#options.coordination.createSource(target, this.#createLocalPoller) : this.#createLocalPoller(target),
      onClosed: (closed, final) => {
        this.#closedFeeds.coalesced += closed.coalesced;
        this.#closedFeeds.changes += closed.changes;
        this.#closedFeeds.pushed += closed.pushed;
        this.#feeds.delete(key);
        const siblings = this.#feedsByImport.get(importKey(ref));
        siblings?.delete(closed);
        if (siblings?.size === 0) this.#feedsByImport.delete(importKey(ref));
        if (final) this.#terminal.set(key, final);
      },
    });
    this.#feeds.set(key, feed);
    const siblings = this.#feedsByImport.get(importKey(ref)) ?? new Set<Feed>();
    siblings.add(feed);
    this.#feedsByImport.set(importKey(ref), siblings);
    return feed;
  }

  /** A poller on this process that polls upstream with the feed's own credential. */
  readonly #createLocalPoller: FeedSourceFactory = (target) => {
    const { fetchStatus, timing, logger } = this.#options;
    const poller = new Poller({
      ref: target.ref,
      credential: target.credential,
      timing,
      timers: this.#timers,
      random: this.#options.random ?? Math.random,
      logger,
      fetchStatus: this.#spans.tracePolls((credential, ref, signal, idle) => {
        this.#upstreamCalls++;
        return fetchStatus(credential, ref, signal, idle);
      }),
      onEvent: this.#spans.tracePushes(target.ref, (event) => target.deliver(event)),
      watchedOnly: () => target.watchedOnly(),
      initial: target.initial,
    });
    poller.start();
    return poller;
  };
}

function shuttingDown(): GatewayError {
  return new GatewayError('UPSTREAM_UNAVAILABLE', 'The gateway is shutting down; subscribe again.', { reason: 'SHUTTING_DOWN' });
}
