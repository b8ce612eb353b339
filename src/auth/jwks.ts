import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey, type LocalJWKSet } from 'jose';
import { backoffDelay } from '../lib/backoff.js';
import { systemTimers, type Timers } from '../lib/timers.js';
import type { Logger } from '../logger.js';

/**
 * The issuer's keys could not be had within bounds: the JWKS failed (and the last good set is past
 * its stale bound, or lacks the token's `kid`), is still being fetched after the request's wait, or
 * is between two attempts of its backoff. Not the caller's fault: `JWKS_UNAVAILABLE`.
 */
export class KeysUnavailable extends Error {
  override readonly name = 'KeysUnavailable';
}

/** Fetches and parses the JWKS document once; rejects when `signal` aborts. */
export type LoadJwks = (signal: AbortSignal) => Promise<unknown>;

export interface RemoteKeySetOptions {
  /** The JWKS document, fetched over HTTP by {@link httpJwks} in production. */
  load: LoadJwks;
  /** Past this age the set is refreshed in the background, on the next token that uses it. */
  maxAgeMs: number;
  /** How long past `maxAgeMs` the last good set still verifies known `kid`s while refreshing fails. */
  maxStaleMs: number;
  /** Least time since the last fetch before an unknown `kid` causes another. */
  cooldownMs: number;
  /** Longest a request waits for a fetch it needs (no usable set, or an unknown `kid`). */
  waitMs: number;
  logger: Logger;
  /** One fetch's deadline (connect, headers, body). @default 5 s */
  fetchTimeoutMs?: number;
  /** Backoff after failed fetches: equal jitter, doubling from `baseMs` up to `maxMs`. @default 1 s to 1 min */
  backoff?: { baseMs: number; maxMs: number };
  /** @default systemTimers (unref'd) */
  timers?: Timers;
  /** @default Math.random */
  random?: () => number;
}

interface GoodSet {
  readonly getKey: LocalJWKSet;
  readonly fetchedAt: number;
}

/**
 * The issuer's keys for jose's `jwtVerify`, kept so that an issuer that is down or slow costs
 * callers nothing while their keys are known:
 *
 * - The last good set verifies known `kid`s. Past `maxAgeMs` a token that uses it starts a refresh
 *   in the background and is verified at once; if the refresh fails, the set goes on serving
 *   (stale-if-error) until it is `maxAgeMs + maxStaleMs` old, then tokens fail with
 *   {@link KeysUnavailable} until a fetch succeeds.
 * - Never more than one fetch in flight: every request that needs one joins it.
 * - After a failure the next attempt waits out an exponential backoff with jitter; requests in the
 *   meantime start none. Nothing is scheduled: fetches are started by tokens that need them, so an
 *   idle gateway fetches nothing and leaves no timer behind (only a fetch's own deadline runs, and
 *   is cleared when it settles).
 * - An unknown `kid` (a rotated key) refetches, at most once per `cooldownMs` since the last fetch,
 *   and its request waits at most `waitMs` for it. So does a request with no usable set (the first
 *   one, or past the stale bound).
 */
export class RemoteKeySet {
  readonly #options: RemoteKeySetOptions;
  readonly #timers: Timers;
  readonly #random: () => number;
  #set: GoodSet | undefined;
  /** The fetch in flight; resolves to whether it produced a new set (it never rejects). */
  #inFlight: Promise<boolean> | undefined;
  #lastFetchStartedAt = Number.NEGATIVE_INFINITY;
  #failures = 0;
  /** No fetch starts before this time (the backoff after a failure). */
  #retryAt = Number.NEGATIVE_INFINITY;

  constructor(options: RemoteKeySetOptions) {
    this.#options = options;
    this.#timers = options.timers ?? systemTimers;
    this.#random = options.random ?? Math.random;
  }

  /** jose's key lookup: pass it (bound) as `jwtVerify`'s key argument. */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    const { maxAgeMs, maxStaleMs, cooldownMs } = this.#options;
    const now = this.#timers.now();
    const set = this.#set;
    if (set && now - set.fetchedAt <= maxAgeMs + maxStaleMs) {
      // Stale or not, a known kid is verified now; a refresh, when due, runs behind it.
      if (now - set.fetchedAt > maxAgeMs) this.#startFetch();
      try {
        return await set.getKey(header, token);
      } catch (error) {
        if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
        // A kid the set does not know: a rotated key, or a made-up one. One refetch per cooldown.
        if (!this.#inFlight && now - this.#lastFetchStartedAt < cooldownMs) throw error;
      }
    }
    // No usable set (the first token, or past the stale bound), or an unknown kid worth a refetch.
    await this.#awaitFetch();
    return this.#set!.getKey(header, token);
  };

  /** Joins the fetch in flight or starts one (unless backing off), waiting for it at most `waitMs`. */
  async #awaitFetch(): Promise<void> {
    const fetching = this.#startFetch();
    if (!fetching) throw new KeysUnavailable('the JWKS failed and its next attempt is not due yet');
    let timer: unknown;
    const waited = new Promise<'timeout'>((resolve) => {
      timer = this.#timers.setTimeout(() => resolve('timeout'), this.#options.waitMs);
    });
    const outcome = await Promise.race([fetching, waited]);
    this.#timers.clearTimeout(timer);
    if (outcome === 'timeout') throw new KeysUnavailable('the JWKS did not answer within the wait');
    if (!outcome) throw new KeysUnavailable('the JWKS could not be fetched');
  }

  /** The fetch in flight, a new one, or undefined while the backoff after a failure runs. */
  #startFetch(): Promise<boolean> | undefined {
    if (this.#inFlight) return this.#inFlight;
    const startedAt = this.#timers.now();
    if (startedAt < this.#retryAt) return undefined;
    this.#lastFetchStartedAt = startedAt;
    const controller = new AbortController();
    const deadline = this.#timers.setTimeout(
      () => controller.abort(new KeysUnavailable('the JWKS fetch timed out')),
      this.#options.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS,
    );
    const current = this.#fetch(controller.signal).finally(() => {
      this.#timers.clearTimeout(deadline);
      if (this.#inFlight === current) this.#inFlight = undefined;
    });
    this.#inFlight = current;
    return current;
  }

  async #fetch(signal: AbortSignal): Promise<boolean> {
    const { logger } = this.#options;
    try {
      const getKey = createLocalJWKSet((await this.#options.load(signal)) as JSONWebKeySet);
      if (this.#failures > 0) logger.info({ failures: this.#failures }, 'the JWKS of the token issuer is back');
      this.#set = { getKey, fetchedAt: this.#timers.now() };
      this.#failures = 0;
      this.#retryAt = Number.NEGATIVE_INFINITY;
      return true;
    } catch (error) {
      this.#failures++;
      const { baseMs, maxMs } = this.#options.backoff ?? DEFAULT_BACKOFF;
      const retryInMs = backoffDelay(this.#failures, baseMs, maxMs, undefined, this.#random);
      const now = this.#timers.now();
      this.#retryAt = now + retryInMs;
      const { maxAgeMs, maxStaleMs } = this.#options;
      // Never the URL (it may carry credentials) nor a token: what failed, and what we do meanwhile.
      logger.warn(
        {
          cause: causeOf(error),
          failures: this.#failures,
          retryInMs,
          ...(this.#set && { keySetAgeMs: now - this.#set.fetchedAt, servingUntilAgeMs: maxAgeMs + maxStaleMs }),
        },
        'the JWKS of the token issuer could not be fetched',
      );
      return false;
    }
  }
}

const DEFAULT_FETCH_TIMEOUT_MS = 5_000;
const DEFAULT_BACKOFF = { baseMs: 1_000, maxMs: 60_000 };
/** A JWKS is a few keys of a few hundred bytes each; anything near this is not one. */
const MAX_JWKS_BYTES = 256 * 1024;

function causeOf(error: unknown): string {
  if (error instanceof KeysUnavailable || error instanceof errors.JOSEError) return error.message;
  if (error instanceof Error) return (error.cause as { code?: string } | undefined)?.code ?? error.name;
  return 'unknown';
}

/**
 * One GET of the JWKS: 200 only (no redirects), at most {@link MAX_JWKS_BYTES} read, JSON. The
 * signal (the key set's deadline) covers the whole exchange, body included.
 */
export function httpJwks(url: URL): LoadJwks {
  return async (signal) => {
    const response = await fetch(url, { signal, redirect: 'manual', headers: { accept: 'application/json, application/jwk-set+json' } });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new KeysUnavailable(`the JWKS answered ${response.status}`);
    }
    if (Number(response.headers.get('content-length') ?? 0) > MAX_JWKS_BYTES) {
      await response.body?.cancel();
      throw new KeysUnavailable('the JWKS is too large');
    }
    const chunks: Uint8Array[] = [];
    let bytes = 0;
    for await (const chunk of response.body ?? []) {
      bytes += chunk.byteLength;
      if (bytes > MAX_JWKS_BYTES) throw new KeysUnavailable('the JWKS is too large');
      chunks.push(chunk);
    }
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    } catch {
      throw new KeysUnavailable('the JWKS is not JSON');
    }
  };
}
