import { importKey } from '../domain/import-ref.js';
import type { Timers } from '../lib/timers.js';
import type { UpstreamImportState } from '../mypreferences-contract.js';
import type { FeedSource, FeedSourceFactory, FeedTarget } from '../status/feed.js';
import type { StatusEvent } from '../status/status-event.js';
import { decodeMessage, encodeEvent, follows, type Position, START } from './event-codec.js';
import type { LeaseScripts } from './lease-scripts.js';
import { type KeyNames, keyNames, refreshChannel } from './redis-names.js';

type MessageHandler = (message: string) => void;

/** What a source needs of the cluster: declared here, implemented by the coordinator. */
export interface ClusterPort {
  readonly replicaId: string;
  readonly available: boolean;
  readonly leaseMs: number;
  readonly stateTtlMs: number;
  readonly scripts: LeaseScripts;
  readonly timers: Timers;
  /** The latest event stored for a key, as published. */
  latest(stateKey: string): Promise<string | null>;
  /** Says, for `ttlMs`, that this replica has subscribers of a key (see {@link KeyNames.subscribed}). */
  markSubscribed(key: string, ttlMs: number): Promise<void>;
  /** Whether some replica said so within its `ttlMs`. */
  isSubscribed(key: string): Promise<boolean>;
  unmarkSubscribed(key: string): Promise<void>;
  listen(channel: string, handler: MessageHandler): Promise<void>;
  unlisten(channel: string, handler: MessageHandler): Promise<void>;
  /** Keeps a release in view, so that closing the cluster waits for it. */
  track(release: Promise<void>): void;
}

/**
 * Where a source stands. In the cluster it may hold the key's lease (and then run the poller);
 * while Redis is down it polls locally; stopped is final.
 */
type SourceState =
  | { mode: 'cluster'; tick: unknown; lease: { holder: string; poller: FeedSource } | undefined }
  | { mode: 'local'; poller: FeedSource }
  | { mode: 'stopped' };

/**
 * Who polls one key, in cluster mode.
 *
 * - Every replica with subscribers for the key listens to its channel and hands each newer event
 *   (a later epoch, or a higher sequence number within the epoch) to its feed; on joining it
 *   reads the stored latest state first. Errors are never stored: they reach only the
 *   subscribers present, and a later subscriber makes the key be polled afresh.
 * - One of them holds the key's lease and runs the poller; the poller's events are published
 *   through the fenced publish script (never delivered directly), so every replica, the holder
 *   included, sees the same sequence.
 * - The others try to take the lease every quarter lease: when the holder dies, its lease
 *   expires and one of them carries on.
 * - While Redis is down the source polls locally and delivers directly; the feed's
 *   forward-only rule keeps the switch back and forth free of duplicates and regressions.
 */
export class ClusterSource implements FeedSource {
  readonly #target: FeedTarget;
  readonly #cluster: ClusterPort;
  readonly #createLocalPoller: FeedSourceFactory;
  readonly #onStopped: (source: ClusterSource) => void;
  readonly #names: KeyNames;
  readonly #refreshChannel: string;
  #state: SourceState;
  /** Position of the last message handed to the feed. */
  #last: Position = START;
  /** Holder: another replica has subscribers of the key (read each lease tick), so a watch here is not alone. */
  #subscribedElsewhere = false;
  /** This replica said it has subscribers of the key: the mark is deleted on release, not left to expire. */
  #markedSubscribed = false;

  constructor(target: FeedTarget, cluster: ClusterPort, createLocalPoller: FeedSourceFactory, onStopped: (source: ClusterSource) => void) {
    this.#target = target;
    this.#cluster = cluster;
    this.#createLocalPoller = createLocalPoller;
    this.#onStopped = onStopped;
    this.#names = keyNames(target.key);
    this.#refreshChannel = refreshChannel(importKey(target.ref));
    this.#state = { mode: 'cluster', tick: undefined, lease: undefined };
  }

  /** Whether this replica polls the upstream for the key right now. */
  get polling(): boolean {
    return this.#poller !== undefined;
  }

  start(): void {
    void this.#cluster.listen(this.#names.events, this.#onMessage);
    void this.#cluster.listen(this.#refreshChannel, this.#onRefresh);
    if (this.#cluster.available) void this.#enterCluster();
    else this.#enterLocal();
  }

  refresh(state?: UpstreamImportState): void {
    // Without the poller here, the import-wide refresh the hub announced reaches the holder.
    this.#poller?.refresh(state);
  }

  stop(): void {
    this.#cluster.track(this.stopAndRelease());
  }

  async stopAndRelease(): Promise<void> {
    if (this.#state.mode === 'stopped') return;
    const holder = this.#state.mode === 'cluster' ? this.#state.lease?.holder : undefined;
    this.#leave({ mode: 'stopped' });
    this.#onStopped(this);
    await Promise.allSettled([
      this.#cluster.unlisten(this.#names.events, this.#onMessage),
      this.#cluster.unlisten(this.#refreshChannel, this.#onRefresh),
      holder ? this.#cluster.scripts.release(this.#names, holder) : Promise.resolve(),
      // Other replicas' subscribers mark it again within a quarter lease.
      this.#markedSubscribed ? this.#cluster.unmarkSubscribed(this.#names.subscribed) : Promise.resolve(),
    ]);
  }

  onAvailabilityChange(available: boolean): void {
    if (available && this.#state.mode === 'local') void this.#enterCluster();
    if (!available && this.#state.mode === 'cluster') this.#enterLocal();
  }

  get #poller(): FeedSource | undefined {
    if (this.#state.mode === 'local') return this.#state.poller;
    if (this.#state.mode === 'cluster') return this.#state.lease?.poller;
    return undefined;
  }

  /** Stops what the current state runs (poller, lease tick) and moves to `next`. */
  #leave(next: SourceState): void {
    this.#poller?.stop();
    if (this.#state.mode === 'cluster') this.#cluster.timers.clearTimeout(this.#state.tick);
    this.#state = next;
  }

  async #enterCluster(): Promise<void> {
    this.#leave({ mode: 'cluster', tick: undefined, lease: undefined });
    // Redis may have lost the counter, or come back with an older copy of it: start afresh (the
    // feed's forward-only rule still keeps subscribers from seeing a step back).
    this.#last = START;
    try {
      const stored = await this.#cluster.latest(this.#names.state);
      if (stored && this.#state.mode === 'cluster') this.#onMessage(stored);
    } catch {
      // Redis went away meanwhile: the availability change switches this source to local.
    }
    await this.#leaseTick();
  }

  #enterLocal(): void {
    this.#leave({ mode: 'local', poller: this.#createLocalPoller({ ...this.#target, deliver: (event) => this.#target.deliver(event) }) });
  }

  /** Holder: renew, or notice the lease is lost. Others: try to take it. Then again in a quarter lease. */
  async #leaseTick(): Promise<void> {
    const state = this.#state;
    if (state.mode !== 'cluster') return;
    const { scripts, replicaId, leaseMs, stateTtlMs } = this.#cluster;
    try {
      // Subscribers here, not only watches: the holder, wherever it is, polls at their pace.
      if (!this.#target.watchedOnly()) {
        this.#markedSubscribed = true;
        await this.#cluster.markSubscribed(this.#names.subscribed, leaseMs);
      }
      if (state.lease) {
        if (!(await scripts.renew(this.#names.lease, state.lease.holder, leaseMs))) this.#loseLease();
        else await this.#readSubscribedElsewhere();
      } else {
        const fence = await scripts.acquire(this.#names.lease, this.#names.fence, replicaId, leaseMs, stateTtlMs);
        if (fence !== null) this.#takeLease(`${replicaId}:${fence}`, state);
      }
    } catch {
      // Redis is unreachable: the availability change switches this source to local.
    }
    if (this.#state === state) {
      state.tick = this.#cluster.timers.setTimeout(() => void this.#leaseTick(), Math.max(1, Math.floor(leaseMs / 4)));
    }
  }

  #takeLease(holder: string, acquiredIn: SourceState): void {
    if (this.#state !== acquiredIn || this.#state.mode !== 'cluster' || this.#state.lease) {
      // Stopped (or switched) while the acquire was on its way: hand the lease straight back
      // rather than leave it, and the fence, to expire.
      this.#cluster.track(
        this.#cluster.scripts.release(this.#names, holder).then(
          () => undefined,
          () => undefined,
        ),
      );
      return;
    }
    const poller = this.#createLocalPoller({
      ...this.#target,
      deliver: (event) => void this.#publish(holder, event),
      watchedOnly: () => this.#target.watchedOnly() && !this.#subscribedElsewhere,
    });
    this.#state.lease = { holder, poller };
  }

  async #publish(holder: string, event: StatusEvent): Promise<void> {
    if (this.#holder !== holder) return;
    try {
      const wire = { kind: event.kind, json: encodeEvent(event) };
      const seq = await this.#cluster.scripts.publish(this.#names, holder, wire, this.#cluster.stateTtlMs);
      if (seq === 0 && this.#holder === holder) this.#loseLease();
    } catch {
      // Redis went away between poll and publish: this replica's subscribers still get the event.
      this.#target.deliver(event);
    }
  }

  async #readSubscribedElsewhere(): Promise<void> {
    const subscribed = await this.#cluster.isSubscribed(this.#names.subscribed);
    const joined = subscribed && !this.#subscribedElsewhere;
    this.#subscribedElsewhere = subscribed;
    // Subscribers came to a key only watched here: poll now rather than at the watch's next interval.
    if (joined && this.#target.watchedOnly()) this.#poller?.refresh();
  }

  get #holder(): string | undefined {
    return this.#state.mode === 'cluster' ? this.#state.lease?.holder : undefined;
  }

  #loseLease(): void {
    if (this.#state.mode !== 'cluster' || !this.#state.lease) return;
    this.#state.lease.poller.stop();
    this.#state.lease = undefined;
  }

  readonly #onMessage = (message: string): void => {
    const decoded = decodeMessage(message);
    if (!decoded || !follows(decoded, this.#last) || this.#state.mode === 'stopped') return;
    this.#last = { epoch: decoded.epoch, seq: decoded.seq };
    this.#target.deliver(decoded.event);
  };

  readonly #onRefresh = (message: string): void => {
    try {
      if ((JSON.parse(message) as { origin?: unknown }).origin === this.#cluster.replicaId) return;
    } catch {
      return;
    }
    this.#poller?.refresh();
  };
}
