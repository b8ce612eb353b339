import type { UpstreamImportState } from '../contract/mypreferences.js';
import type { FeedSource, FeedSourceFactory, FeedTarget } from '../status/feed.js';
import type { StatusEvent } from '../status/status-event.js';
import type { ClusterCoordinator } from './cluster-coordinator.js';
import { decodeMessage, encodeEvent, follows, START, type Position } from './event-codec.js';
import { keyNames, refreshChannel, type KeyNames } from './redis-names.js';

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
  readonly #cluster: ClusterCoordinator;
  readonly #createLocalPoller: FeedSourceFactory;
  readonly #onStopped: (source: ClusterSource) => void;
  readonly #names: KeyNames;
  readonly #refreshChannel: string;
  #mode: 'cluster' | 'local' | 'stopped' = 'cluster';
  #poller: FeedSource | undefined;
  /** `replicaId:fence` while this replica holds the lease. */
  #holder: string | undefined;
  /** Position of the last message handed to the feed. */
  #last: Position = START;
  #tick: NodeJS.Timeout | undefined;

  constructor(target: FeedTarget, cluster: ClusterCoordinator, createLocalPoller: FeedSourceFactory, onStopped: (source: ClusterSource) => void) {
    this.#target = target;
    this.#cluster = cluster;
    this.#createLocalPoller = createLocalPoller;
    this.#onStopped = onStopped;
    this.#names = keyNames(target.key);
    this.#refreshChannel = refreshChannel(JSON.stringify([target.ref.clientId, target.ref.accessToken]));
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
    if (this.#mode === 'stopped') return;
    this.#mode = 'stopped';
    this.#stopPoller();
    clearInterval(this.#tick);
    this.#onStopped(this);
    const holder = this.#holder;
    this.#holder = undefined;
    await Promise.allSettled([
      this.#cluster.unlisten(this.#names.events, this.#onMessage),
      this.#cluster.unlisten(this.#refreshChannel, this.#onRefresh),
      holder ? this.#cluster.scripts.release(this.#names, holder) : Promise.resolve(),
    ]);
  }

  onAvailabilityChange(available: boolean): void {
    if (this.#mode === 'stopped') return;
    if (available && this.#mode === 'local') void this.#enterCluster();
    if (!available && this.#mode === 'cluster') this.#enterLocal();
  }

  async #enterCluster(): Promise<void> {
    this.#mode = 'cluster';
    this.#stopPoller();
    this.#holder = undefined;
    // Redis may have lost the counter, or come back with an older copy of it: start afresh (the
    // feed's forward-only rule still keeps subscribers from seeing a step back).
    this.#last = START;
    clearInterval(this.#tick);
    const { leaseMs } = this.#cluster.options;
    this.#tick = setInterval(() => void this.#leaseTick(), Math.max(1, Math.floor(leaseMs / 4)));
    this.#tick.unref();
    try {
      const stored = await this.#cluster.commands.get(this.#names.state);
      if (stored && this.#mode === 'cluster') this.#onMessage(stored);
    } catch {
      // Redis went away meanwhile: the availability change switches this source to local.
    }
    await this.#leaseTick();
  }

  #enterLocal(): void {
    this.#mode = 'local';
    clearInterval(this.#tick);
    this.#holder = undefined;
    this.#stopPoller();
    this.#poller = this.#createLocalPoller({ ...this.#target, deliver: (event) => this.#target.deliver(event) });
  }

  /** Holder: renew, or notice the lease is lost. Others: try to take it. */
  async #leaseTick(): Promise<void> {
    if (this.#mode !== 'cluster') return;
    const { scripts, replicaId, options } = this.#cluster;
    try {
      if (this.#holder) {
        if (!(await scripts.renew(this.#names.lease, this.#holder, options.leaseMs))) this.#loseLease();
        return;
      }
      const fence = await scripts.acquire(this.#names.lease, this.#names.fence, replicaId, options.leaseMs, options.stateTtlMs);
      if (fence === null) return;
      if (this.#mode !== 'cluster' || this.#holder) {
        // Stopped (or switched) while the acquire was on its way: hand the lease straight back
        // rather than leave it, and the fence, to expire.
        this.#cluster.track(scripts.release(this.#names, `${replicaId}:${fence}`).then(() => undefined, () => undefined));
        return;
      }
      this.#holder = `${replicaId}:${fence}`;
      this.#poller = this.#createLocalPoller({ ...this.#target, deliver: (event) => void this.#publish(event) });
    } catch {
      // Redis is unreachable: the availability change switches this source to local.
    }
  }

  async #publish(event: StatusEvent): Promise<void> {
    const holder = this.#holder;
    if (!holder) return;
    try {
      const wire = { kind: event.kind, json: encodeEvent(event) };
      const seq = await this.#cluster.scripts.publish(this.#names, holder, wire, this.#cluster.options.stateTtlMs);
      if (seq === 0 && this.#holder === holder) this.#loseLease();
    } catch {
      // Redis went away between poll and publish: this replica's subscribers still get the event.
      this.#target.deliver(event);
    }
  }

  #loseLease(): void {
    this.#holder = undefined;
    this.#stopPoller();
  }

  #stopPoller(): void {
    this.#poller?.stop();
    this.#poller = undefined;
  }

  readonly #onMessage = (message: string): void => {
    const decoded = decodeMessage(message);
    if (!decoded || !follows(decoded, this.#last) || this.#mode === 'stopped') return;
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
