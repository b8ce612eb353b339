import type { Timers } from './timers.js';

export interface KeyedTokenBucketsOptions {
  /** Tokens a bucket holds when full: the most a key may take at once. */
  capacity: number;
  /** Tokens a bucket regains per second, up to its capacity. */
  perSecond: number;
  /** Buckets kept at most; the least recently used is forgotten first (it starts full again). */
  maxKeys: number;
  now: Timers['now'];
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per key, in bounded memory and without timers: a bucket is refilled when it is
 * next used, and one that would be full again is the same as none, so it is dropped.
 */
export class KeyedTokenBuckets {
  readonly #options: KeyedTokenBucketsOptions;
  /** Least recently used first. */
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: KeyedTokenBucketsOptions) {
    this.#options = options;
  }

  /** Buckets held now (for tests): only keys that are not full. */
  get size(): number {
    return this.#buckets.size;
  }

  /**
   * Takes one token of `key`'s bucket. Answers 0 when it did, else the milliseconds until the
   * bucket has one again (nothing is taken).
   */
  take(key: string): number {
    const at = this.#options.now();
    const tokens = this.#tokens(key, at);
    this.#buckets.delete(key);
    if (tokens < 1) {
      this.#buckets.set(key, { tokens, at });
      return this.#waitMs(tokens);
    }
    this.#buckets.set(key, { tokens: tokens - 1, at });
    this.#trim(at);
    return 0;
  }

  /** The milliseconds until `key`'s bucket has a token: 0 when it has one now. Nothing is taken. */
  peek(key: string): number {
    const tokens = this.#tokens(key, this.#options.now());
    return tokens < 1 ? this.#waitMs(tokens) : 0;
  }

  #tokens(key: string, at: number): number {
    const { capacity, perSecond } = this.#options;
    const held = this.#buckets.get(key);
    return held ? Math.min(capacity, held.tokens + ((at - held.at) * perSecond) / 1000) : capacity;
  }

  #waitMs(tokens: number): number {
    return Math.ceil(((1 - tokens) * 1000) / this.#options.perSecond);
  }

  /** Drops full buckets from the least recently used end, then the oldest ones past `maxKeys`. */
  #trim(at: number): void {
    const { capacity, perSecond, maxKeys } = this.#options;
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + ((at - bucket.at) * perSecond) / 1000 < capacity) break;
      this.#buckets.delete(key);
    }
    while (this.#buckets.size > maxKeys) this.#buckets.delete(this.#buckets.keys().next().value as string);
  }
}
