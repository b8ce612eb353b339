import type { UpstreamImportState } from '../contract/mypreferences.js';
import type { Credential } from '../credentials/credential.js';
import type { Fingerprinter } from '../credentials/fingerprint.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Logger } from '../logging/logger.js';
import type { BulkImport } from '../resolvers/bulk-import.js';
import type { ImportRef } from '../upstream/client.js';
import { LatestValueListener } from './latest-value-listener.js';
import { Poller, systemTimers, type FetchStatus, type StatusEvent, type StatusListener, type Timers } from './poller.js';
import { ExpiringLruCache } from './terminal-cache.js';
import type { PollTiming } from './timing.js';

export interface StatusHubOptions {
  fetchStatus: FetchStatus;
  fingerprint: Fingerprinter;
  timing: PollTiming;
  logger: Logger;
  timers?: Timers;
  random?: () => number;
  /** Finished imports remembered for late subscribers. */
  terminalCache?: { maxEntries: number; ttlMs: number };
}

/** What operators and tests can see of the engine; no credential, raw or hashed, appears. */
export interface StatusHubStats {
  pollers: number;
  listeners: number;
  /** Status requests made upstream since the hub started. */
  upstreamCalls: number;
  terminalCached: number;
  /** States replaced before a slow subscriber read them (latest-wins), since the hub started. */
  coalesced: number;
  /** One entry per poller. */
  imports: Array<{ clientId: string; accessToken: string; listeners: number; status: string | undefined }>;
}

/**
 * The importStatus engine: import → one ref-counted poller per (clientId, accessToken, credential
 * fingerprint) → many latest-value listeners.
 *
 * The first subscriber of a key starts its poller, the last one leaving stops it; subscribers of
 * a finished import are answered from a bounded cache. Pollers are keyed by credential
 * fingerprint, so data fetched with one credential never reaches a holder of another.
 */
export class StatusHub {
  readonly #options: StatusHubOptions;
  readonly #timers: Timers;
  readonly #pollers = new Map<string, Poller>();
  /** Pollers of one import, whatever their credential: executeImport refreshes them all. */
  readonly #pollersByImport = new Map<string, Set<Poller>>();
  readonly #terminal: ExpiringLruCache<string, BulkImport>;
  #upstreamCalls = 0;
  /** Coalesced counts of pollers that have stopped. */
  #coalesced = 0;
  #closed = false;

  constructor(options: StatusHubOptions) {
    this.#options = options;
    this.#timers = options.timers ?? systemTimers;
    const cache = options.terminalCache ?? { maxEntries: 10_000, ttlMs: 10 * 60_000 };
    this.#terminal = new ExpiringLruCache(cache.maxEntries, cache.ttlMs, () => this.#timers.now());
  }

  /** The events of one import for one subscriber. The iterator's `return()` unsubscribes at once. */
  subscribe(ref: ImportRef, credential: Credential): AsyncIterableIterator<StatusEvent> {
    if (this.#closed) throw new GatewayError('UPSTREAM_UNAVAILABLE', 'The gateway is shutting down.', { reason: 'SHUTTING_DOWN' });
    const key = pollerKey(ref, this.#options.fingerprint(credential));

    const finished = this.#terminal.get(key);
    if (finished) {
      const listener: StatusListener = new LatestValueListener(() => undefined);
      listener.push({ kind: 'state', state: finished });
      listener.end();
      return listener;
    }

    let poller = this.#pollers.get(key);
    const isNew = poller === undefined;
    poller ??= this.#createPoller(key, ref, credential);
    const owner = poller;
    const listener: StatusListener = new LatestValueListener((detached) => owner.removeListener(detached));
    owner.addListener(listener);
    if (isNew) owner.start();
    return listener;
  }

  /**
   * An import changed through this gateway (executeImport). The poller of the credential that
   * made the change takes its response as the newest state; pollers of other credentials re-poll
   * at once rather than receive data fetched with somebody else's credential.
   */
  importChanged(ref: ImportRef, credential: Credential, state: UpstreamImportState): void {
    const key = pollerKey(ref, this.#options.fingerprint(credential));
    for (const poller of this.#pollersByImport.get(importKey(ref)) ?? []) {
      if (this.#pollers.get(key) === poller) poller.refresh(state);
      else poller.refresh();
    }
  }

  stats(): StatusHubStats {
    const pollers = [...this.#pollers.values()];
    return {
      pollers: pollers.length,
      listeners: pollers.reduce((sum, poller) => sum + poller.listenerCount, 0),
      upstreamCalls: this.#upstreamCalls,
      terminalCached: this.#terminal.size,
      coalesced: this.#coalesced + pollers.reduce((sum, poller) => sum + poller.coalesced, 0),
      imports: pollers.map((poller) => ({
        clientId: poller.ref.clientId,
        accessToken: poller.ref.accessToken,
        listeners: poller.listenerCount,
        status: poller.lastState?.status,
      })),
    };
  }

  /** Ends every subscription (with UPSTREAM_UNAVAILABLE, reason SHUTTING_DOWN) and stops all polling. */
  close(): void {
    this.#closed = true;
    const shuttingDown = new GatewayError('UPSTREAM_UNAVAILABLE', 'The gateway is shutting down; subscribe again.', { reason: 'SHUTTING_DOWN' });
    for (const poller of [...this.#pollers.values()]) poller.fail(shuttingDown);
    this.#terminal.clear();
  }

  #createPoller(key: string, ref: ImportRef, credential: Credential): Poller {
    const { fetchStatus, timing, logger } = this.#options;
    const poller = new Poller({
      ref,
      credential,
      timing,
      timers: this.#timers,
      random: this.#options.random ?? Math.random,
      logger,
      fetchStatus: (...args) => {
        this.#upstreamCalls++;
        return fetchStatus(...args);
      },
      onStopped: (stopped, final) => {
        this.#coalesced += stopped.coalesced;
        this.#pollers.delete(key);
        const siblings = this.#pollersByImport.get(importKey(ref));
        siblings?.delete(stopped);
        if (siblings?.size === 0) this.#pollersByImport.delete(importKey(ref));
        if (final) this.#terminal.set(key, final);
      },
    });
    this.#pollers.set(key, poller);
    const siblings = this.#pollersByImport.get(importKey(ref)) ?? new Set<Poller>();
    siblings.add(poller);
    this.#pollersByImport.set(importKey(ref), siblings);
    return poller;
  }
}

/** JSON arrays keep keys unambiguous whatever characters a clientId holds. */
function importKey(ref: ImportRef): string {
  return JSON.stringify([ref.clientId, ref.accessToken]);
}

function pollerKey(ref: ImportRef, fingerprint: string): string {
  return JSON.stringify([ref.clientId, ref.accessToken, fingerprint]);
}
