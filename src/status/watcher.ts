import type { UpstreamCredential } from '../credentials/upstream-credential.js';
import { type ImportRef, pollerKey } from '../domain/import-ref.js';
import type { ErrorCode } from '../errors/gateway-error.js';
import { systemTimers, type Timers } from '../lib/timers.js';
import type { Logger } from '../logger.js';
import type { UpstreamImportState } from '../mypreferences-contract.js';
import type { NewWatch, WatchEntry } from '../store/registry.js';
import type { StatusEvent } from './status-event.js';
import type { StatusHub } from './status-hub.js';

/** Where the watch list is kept (the registry): a watch outlives the process that started it. */
export interface WatchList {
  addWatch(ref: ImportRef, watch: NewWatch): Promise<void>;
  removeWatch(ref: ImportRef): Promise<void>;
  watches(): Promise<WatchEntry[]>;
}

export interface WatcherOptions {
  hub: StatusHub;
  watchList: WatchList;
  logger: Logger;
  /** How long a watch interrupted by a transient failure (the upstream stayed down) waits before it starts again. */
  retryAfterMs: number;
  /** @default systemTimers */
  timers?: Timers;
}

/** Answers after which watching is pointless: the token expired (401) or the import is not this credential's (403, 404, 400). */
const ENDS_WATCH: ReadonlySet<ErrorCode> = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'BAD_USER_INPUT']);

/**
 * Watches imports nobody may be subscribed to (issue 26), so that the registry sees them end.
 *
 * A watch is one listener on the import's feed in the {@link StatusHub}: the same single poller
 * per key serves the watch and the subscribers, at the watch interval and behind every other
 * call while only watches listen. The registry records what the poller sees (gateway.ts wraps
 * `fetchStatus`); the watcher only keeps the listener and ends the watch — taking the import off
 * the watch list — once the import is terminal or its token is refused. A watch interrupted
 * otherwise (the upstream stayed down, the hub closing) stays on the list and, unless the watcher
 * is closed, starts again after `retryAfterMs`. The credential lives in memory only: a watch
 * resumed after a restart needs one the gateway can make again (jwt mode's service account).
 */
export class Watcher {
  readonly #options: WatcherOptions;
  readonly #timers: Timers;
  /** The watch listener of each poller key watched here. */
  readonly #watching = new Map<string, AsyncIterableIterator<StatusEvent>>();
  readonly #retries = new Set<unknown>();
  #rescan: unknown;
  #scanning = false;
  #closed = false;

  constructor(options: WatcherOptions) {
    this.#options = options;
    this.#timers = options.timers ?? systemTimers;
  }

  /** Imports watched by this process now. */
  get size(): number {
    return this.#watching.size;
  }

  /** Puts the import on the watch list, then watches it here with `credential`; `known`: its state just read with it (spares a poll). */
  async watch(ref: ImportRef, credential: UpstreamCredential, watch: NewWatch, known?: UpstreamImportState): Promise<void> {
    await this.#options.watchList.addWatch(ref, watch);
    this.resume(ref, credential, known);
  }

  /** Watches here an import already on the watch list (at start, or again after an interruption). Once per key. */
  resume(ref: ImportRef, credential: UpstreamCredential, known?: UpstreamImportState): void {
    if (this.#closed) return;
    const key = pollerKey(ref, credential.id);
    if (this.#watching.has(key)) return;
    let events: AsyncIterableIterator<StatusEvent>;
    try {
      events = this.#options.hub.watch(ref, credential, known);
    } catch {
      return; // the hub is closing
    }
    this.#watching.set(key, events);
    void this.#follow(key, ref, credential, events);
  }

  /**
   * Watches the store's watch list from now on: at once, then every `everyMs` (what another
   * replica watched before it went away, what a write here could not resume). An import is
   * watched with the credential the gateway can make for its clientId (jwt mode's service
   * account); without one (passthrough mode, a clientId no longer configured) it is left on the
   * list, unwatched here. Keys watched already are left alone; in a cluster every replica
   * watches every entry and the key's lease keeps it to one poll per interval. Resolves after the
   * first scan.
   */
  startResuming(credentialFor: (clientId: string) => UpstreamCredential | undefined, everyMs: number): Promise<void> {
    const scan = async (): Promise<void> => {
      this.#rescan = undefined;
      await this.#resumeAll(credentialFor);
      if (!this.#closed) this.#rescan = this.#timers.setTimeout(() => void scan(), everyMs);
    };
    // Resolves once the first scan is done (it never throws: a failed read is logged and retried).
    return scan();
  }

  async #resumeAll(credentialFor: (clientId: string) => UpstreamCredential | undefined): Promise<void> {
    if (this.#closed || this.#scanning) return;
    this.#scanning = true;
    try {
      const entries = await this.#options.watchList.watches();
      let resumed = 0;
      let unwatchable = 0;
      for (const entry of entries) {
        const credential = credentialFor(entry.ref.clientId);
        if (!credential) {
          unwatchable++;
          continue;
        }
        const key = pollerKey(entry.ref, credential.id);
        if (this.#watching.has(key)) continue;
        this.resume(entry.ref, credential);
        resumed++;
      }
      if (resumed > 0) this.#options.logger.info({ resumed, unwatchable, listed: entries.length }, 'watch list resumed');
      else if (unwatchable > 0) this.#options.logger.debug({ unwatchable }, 'watch list: entries without a credential here');
    } catch (error) {
      this.#options.logger.warn({ error: (error as Error).message }, 'the watch list could not be read: resuming at the next scan');
    } finally {
      this.#scanning = false;
    }
  }

  /** Stops every watch of this process; the watch list keeps them for the next start. */
  close(): void {
    this.#closed = true;
    if (this.#rescan !== undefined) this.#timers.clearTimeout(this.#rescan);
    this.#rescan = undefined;
    for (const timer of this.#retries) this.#timers.clearTimeout(timer);
    this.#retries.clear();
    const watching = [...this.#watching.values()];
    this.#watching.clear();
    for (const events of watching) void events.return?.();
  }

  async #follow(key: string, ref: ImportRef, credential: UpstreamCredential, events: AsyncIterableIterator<StatusEvent>): Promise<void> {
    let outcome: 'ended' | 'interrupted' = 'interrupted';
    for await (const event of events) {
      if (event.kind === 'state') {
        if (event.state.isTerminal) outcome = 'ended';
      } else {
        outcome = ENDS_WATCH.has(event.error.code) ? 'ended' : 'interrupted';
        if (outcome === 'ended') this.#options.logger.info({ clientId: ref.clientId, code: event.error.code }, 'watch ended: the upstream refused the import');
      }
    }
    if (this.#watching.get(key) === events) this.#watching.delete(key);
    if (this.#closed) return;
    if (outcome === 'ended') {
      await this.#options.watchList.removeWatch(ref);
      return;
    }
    const timer = this.#timers.setTimeout(() => {
      this.#retries.delete(timer);
      this.resume(ref, credential);
    }, this.#options.retryAfterMs);
    this.#retries.add(timer);
  }
}
