/**
 * A small seeded pseudo-random generator, so a test that fails a share of requests at random
 * sees the same failures on every run. Not for anything secret.
 */

/** Returns numbers in [0, 1), like `Math.random`. */
export type RandomSource = () => number;

/**
 * mulberry32: a 32-bit state, a full period of 2^32 and a good enough spread for picking which
 * requests fail. The same `seed` (taken modulo 2^32) always gives the same sequence.
 */
export function mulberry32(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}
