import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { type ImportRef, importKey } from '../domain/import-ref.js';
import { systemTimers, type Timers } from '../lib/timers.js';
import type { Logger } from '../logger.js';
import type { FeedSource, FeedSourceFactory, FeedTarget } from '../status/feed.js';
import type { Coordination } from '../status/status-hub.js';
import { type ClusterPort, ClusterSource } from './cluster-source.js';
import { type LeaseScripts, leaseScripts } from './lease-scripts.js';
import { refreshChannel } from './redis-names.js';

export interface ClusterOptions {
  redisUrl: string;
  /** A lease not renewed for this long expires, and another replica takes the key over. */
  leaseMs: number;
  /** How long the latest state of a key stays in Redis for new subscribers. */
  stateTtlMs: number;
  logger: Logger;
  /** @default the system clock */
  timers?: Timers;
}

export interface ClusterStats {
  redis: 'up' | 'down';
  /** Keys this replica watches (it has subscribers for them). */
  keys: number;
  /** Keys this replica polls, as lease holder (or locally while Redis is down). */
  polling: number;
}

type MessageHandler = (message: string) => void;

/**
 * Coordinates replicas through Redis so that the whole cluster polls each key once.
 *
 * It owns two connections (commands, and one in subscriber mode), the channel subscriptions of
 * the keys this replica has subscribers for, and one {@link ClusterSource} per such key. When
 * Redis goes away every source falls back to polling locally; when it comes back they return
 * to leases. Commands fail fast while Redis is down (no offline queue), so nothing waits on it.
 */
export class ClusterCoordinator implements Coordination {
  readonly replicaId = randomUUID();
  readonly #options: ClusterOptions;
  readonly #scripts: LeaseScripts;
  /** What the sources see of this coordinator: no Redis connection leaves it. */
  readonly #port: ClusterPort;
  readonly #commands: Redis;
  readonly #subscriber: Redis;
  readonly #handlers = new Map<string, Set<MessageHandler>>();
  readonly #sources = new Set<ClusterSource>();
  /** Lease releases still on their way, awaited by close(). */
  readonly #releases = new Set<Promise<void>>();
  #available = false;
  #closed = false;

  constructor(options: ClusterOptions) {
    this.#options = options;
    const connection = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      // Keep trying to reconnect, at most every 2 s.
      retryStrategy: (attempt: number) => Math.min(attempt * 100, 2_000),
    };
    this.#commands = new Redis(options.redisUrl, connection);
    this.#subscriber = new Redis(options.redisUrl, connection);
    this.#scripts = leaseScripts(this.#commands);
    this.#port = this.#createPort(options.timers ?? systemTimers);
    this.#subscriber.on('message', (channel: string, message: string) => {
      for (const handler of this.#handlers.get(channel) ?? []) handler(message);
    });
    for (const connection of [this.#commands, this.#subscriber]) {
      connection.on('ready', () => this.#updateAvailability());
      connection.on('close', () => this.#updateAvailability());
      // ioredis reports every failed reconnect; availability changes are logged instead.
      connection.on('error', () => undefined);
    }
  }

  get available(): boolean {
    return this.#available;
  }

  /** Connects; a Redis that cannot be reached now only means starting in local mode. */
  async start(): Promise<void> {
    await Promise.allSettled([this.#commands.connect(), this.#subscriber.connect()]);
    this.#updateAvailability();
    if (!this.#available) this.#options.logger.warn('Redis is unreachable: polling locally until it is back');
  }

  /** The "who polls" decision for one key: see {@link ClusterSource}. */
  createSource(target: FeedTarget, createLocalPoller: FeedSourceFactory): FeedSource {
    const source = new ClusterSource(target, this.#port, createLocalPoller, (stopped) => this.#sources.delete(stopped));
    this.#sources.add(source);
    source.start();
    return source;
  }

  /** Asks the holders of every key of this import, on any replica, to poll it now. */
  announceChange(ref: ImportRef): void {
    if (!this.#available) return;
    const message = JSON.stringify({ origin: this.replicaId });
    this.#commands.publish(refreshChannel(importKey(ref)), message).catch(() => undefined);
  }

  #createPort(timers: Timers): ClusterPort {
    const isAvailable = () => this.#available;
    return {
      replicaId: this.replicaId,
      get available() {
        return isAvailable();
      },
      leaseMs: this.#options.leaseMs,
      stateTtlMs: this.#options.stateTtlMs,
      scripts: this.#scripts,
      timers,
      latest: (stateKey) => this.#commands.get(stateKey),
      markSubscribed: async (key, ttlMs) => {
        await this.#commands.set(key, '1', 'PX', ttlMs);
      },
      isSubscribed: async (key) => (await this.#commands.exists(key)) > 0,
      unmarkSubscribed: async (key) => {
        await this.#commands.del(key);
      },
      listen: (channel, handler) => this.#listen(channel, handler),
      unlisten: (channel, handler) => this.#unlisten(channel, handler),
      track: (release) => {
        this.#releases.add(release);
        void release.finally(() => this.#releases.delete(release));
      },
    };
  }

  async #listen(channel: string, handler: MessageHandler): Promise<void> {
    let handlers = this.#handlers.get(channel);
    if (!handlers) {
      handlers = new Set();
      this.#handlers.set(channel, handlers);
    }
    handlers.add(handler);
    if (handlers.size === 1 && this.#available) await this.#subscriber.subscribe(channel).catch(() => undefined);
  }

  async #unlisten(channel: string, handler: MessageHandler): Promise<void> {
    const handlers = this.#handlers.get(channel);
    if (!handlers?.delete(handler) || handlers.size > 0) return;
    this.#handlers.delete(channel);
    if (this.#available) await this.#subscriber.unsubscribe(channel).catch(() => undefined);
  }

  stats(): ClusterStats {
    const sources = [...this.#sources];
    return { redis: this.#available ? 'up' : 'down', keys: sources.length, polling: sources.filter((source) => source.polling).length };
  }

  /** Stops every source (releasing its lease) and closes both connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...[...this.#sources].map((source) => source.stopAndRelease()), ...this.#releases]);
    this.#commands.disconnect();
    this.#subscriber.disconnect();
  }

  #updateAvailability(): void {
    const available = !this.#closed && this.#commands.status === 'ready' && this.#subscriber.status === 'ready';
    if (available === this.#available) return;
    this.#available = available;
    if (available) {
      this.#options.logger.info('Redis is reachable: sharing pollers across the cluster');
      // A reconnected subscriber starts with no channels: subscribe to all of ours again.
      const channels = [...this.#handlers.keys()];
      if (channels.length > 0) this.#subscriber.subscribe(...channels).catch(() => undefined);
    } else {
      this.#options.logger.warn('Redis connection lost: polling locally until it is back');
    }
    for (const source of this.#sources) source.onAvailabilityChange(available);
  }
}
