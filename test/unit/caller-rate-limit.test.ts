import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { GatewayError } from '../../src/errors/gateway-error.js';
import { KeyedTokenBuckets } from '../../src/lib/keyed-token-buckets.js';
import { CallerRateLimit } from '../../src/resolvers/caller-rate-limit.js';
import { manualTimers } from '../helpers/manual-timers.js';

/** The per-caller rate on a manual clock: the token buckets, and operations waiting their turn. */

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('keyed token buckets', () => {
  it('gives each key its burst, then its rate, and says how long until the next token', () => {
    const timers = manualTimers();
    const buckets = new KeyedTokenBuckets({ capacity: 3, perSecond: 2, maxKeys: 100, now: timers.now });
    expect([buckets.take('a'), buckets.take('a'), buckets.take('a')]).toEqual([0, 0, 0]);
    expect(buckets.take('a')).toBe(500);
    expect(buckets.take('b')).toBe(0); // another key is untouched
    timers.advance(250);
    expect(buckets.peek('a')).toBe(250);
    timers.advance(250);
    expect(buckets.peek('a')).toBe(0);
    expect(buckets.take('a')).toBe(0);
    expect(buckets.take('a')).toBe(500);
  });

  it('keeps no bucket that has refilled, and at most maxKeys', () => {
    const timers = manualTimers();
    const buckets = new KeyedTokenBuckets({ capacity: 2, perSecond: 1, maxKeys: 3, now: timers.now });
    for (const key of ['a', 'b', 'c', 'd', 'e']) buckets.take(key);
    expect(buckets.size).toBe(3);
    timers.advance(1_000); // all full again
    buckets.take('f');
    expect(buckets.size).toBe(1);
  });
});

describe('caller rate limit', () => {
  const limit = (maxWaitMs = 1_000) => {
    const timers = manualTimers();
    return { timers, rate: new CallerRateLimit({ burst: 2, perSecond: 10, maxWaitMs, timers }) };
  };

  it('refuses a call past the burst with RATE_LIMITED, CALLER_RATE_LIMIT and retryAfterSeconds', () => {
    const { rate } = limit();
    rate.spend('alice');
    rate.spend('alice');
    let refusal: GatewayError | undefined;
    try {
      rate.spend('alice');
    } catch (error) {
      refusal = error as GatewayError;
    }
    expect(refusal?.extensions).toMatchObject({ code: 'RATE_LIMITED', reason: 'CALLER_RATE_LIMIT', retryAfterSeconds: 1 });
    expect(() => rate.spend('bob')).not.toThrow();
  });

  it('admits at once while the caller has calls left, and takes nothing for it', () => {
    const { rate } = limit();
    expect(rate.admit('alice')).toBeUndefined();
    rate.spend('alice');
    rate.spend('alice');
    expect(rate.stats()).toEqual({ callers: 1, waiting: 0 });
  });

  it('makes operations past the rate wait their turn, first come first served, one call taken for each', async () => {
    const { timers, rate } = limit();
    rate.spend('alice');
    rate.spend('alice');
    const turns: string[] = [];
    for (const name of ['first', 'second']) void rate.admit('alice')!.then((refusal) => turns.push(refusal ? `${name} refused` : name));
    expect(rate.stats().waiting).toBe(2);
    timers.advance(100);
    await flush();
    expect(turns).toEqual(['first']);
    timers.advance(100);
    await flush();
    expect(turns).toEqual(['first', 'second']);
    // Their calls were taken for them: the bucket is empty again.
    expect(() => rate.spend('alice')).toThrow();
    expect(rate.stats().waiting).toBe(0);
  });

  it('refuses an operation whose turn does not come within the wait, then, not at once', async () => {
    const { timers, rate } = limit(150);
    rate.spend('alice');
    rate.spend('alice');
    const outcomes: Array<string | undefined> = [];
    for (let i = 0; i < 3; i++) void rate.admit('alice')!.then((refusal) => outcomes.push(refusal?.details.reason ?? 'admitted'));
    timers.advance(149);
    await flush();
    expect(outcomes).toEqual(['admitted']);
    timers.advance(1);
    await flush();
    expect(outcomes).toEqual(['admitted', 'CALLER_RATE_LIMIT', 'CALLER_RATE_LIMIT']);
    expect(rate.stats().waiting).toBe(0);
  });

  it('lets a waiting operation go, with nothing left behind, when its caller goes away', async () => {
    const { timers, rate } = limit();
    rate.spend('alice');
    rate.spend('alice');
    const controller = new AbortController();
    const admission = rate.admit('alice', controller.signal)!;
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort();
    expect((await admission)?.details.reason).toBe('CALLER_RATE_LIMIT');
    expect(rate.stats().waiting).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    // No turn timer is left to take alice's next call.
    timers.advance(1_000);
    rate.spend('alice');
    rate.spend('alice');
  });

  it('refuses at once with a wait of 0', async () => {
    const { rate } = limit(0);
    rate.spend('alice');
    rate.spend('alice');
    expect((await rate.admit('alice'))?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 1 });
  });
});
