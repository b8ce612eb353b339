import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JSONWebKeySet, type JWK, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { httpJwks, KeysUnavailable, type LoadJwks, RemoteKeySet, type RemoteKeySetOptions } from '../../src/auth/jwks.js';
import { createJwtVerifier } from '../../src/auth/jwt-verifier.js';
import type { JwtConfig } from '../../src/config/config.js';
import { GatewayError } from '../../src/errors/gateway-error.js';
import { silentLogger } from '../../src/logger.js';
import { useCleanup } from '../helpers/cleanup.js';
import { captureLogs } from '../helpers/log-capture.js';
import { manualTimers } from '../helpers/manual-timers.js';

/**
 * The key set on a manual clock, with a JWKS the test answers by hand: every fetch is a promise
 * the test resolves, rejects or leaves hanging, so each rule (stale-if-error, one fetch in flight,
 * backoff, the unknown-kid cooldown, the bounded waits) is checked at the exact millisecond.
 */

const ISSUER = 'https://id.example.test/';
const AUDIENCE = 'bulk-import-gateway';
const OPTIONS = { maxAgeMs: 10_000, maxStaleMs: 60_000, cooldownMs: 30_000, waitMs: 2_000, fetchTimeoutMs: 5_000 };
/** `random` 0: each backoff is half its ceiling (1 s doubling, capped at 8 s): 500, 1000, 2000, 4000, 4000 … */
const BACKOFF = { baseMs: 1_000, maxMs: 8_000 };

interface Key {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function newKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

const jwks = (...keys: Key[]): JSONWebKeySet => ({ keys: keys.map((key) => key.jwk) });

/** One turn of the event loop: promise chains and I/O callbacks ready by then have run. */
const flush = () => new Promise((resolve) => setImmediate(resolve));

/** Turns the event loop until `condition` holds (a request has reached its wait, a socket its end). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await flush();
}

function sign(key: Key, kid = key.kid): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ scope: 'bulk-import:read' })
    .setProtectedHeader({ alg: 'ES256', kid })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(`subject-of-${kid}`)
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(key.privateKey);
}

/** A JWKS endpoint the test answers by hand: each fetch waits for `answer`, `fail`, or its abort. */
function manualJwks() {
  const pending: Array<{ resolve: (value: unknown) => void; reject: (error: unknown) => void; signal: AbortSignal }> = [];
  let fetches = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const waiters: Array<() => void> = [];
  const load: LoadJwks = (signal) => {
    fetches++;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    for (const wake of waiters.splice(0)) wake();
    return new Promise((resolve, reject) => {
      const call = { resolve, reject, signal };
      pending.push(call);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    }).finally(() => {
      inFlight--;
      pending.splice(
        pending.findIndex((call) => call.signal === signal),
        1,
      );
    });
  };
  return {
    load,
    get fetches() {
      return fetches;
    },
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    /** Resolves once a fetch is in flight. */
    async started(): Promise<void> {
      if (pending.length === 0) await new Promise<void>((resolve) => waiters.push(resolve));
    },
    async answer(set: JSONWebKeySet): Promise<void> {
      await this.started();
      pending[0]!.resolve(set);
    },
    async fail(): Promise<void> {
      await this.started();
      pending[0]!.reject(new KeysUnavailable('the JWKS answered 500'));
    },
    aborted: () => pending[0]?.signal.aborted ?? false,
  };
}

function harness(options: Partial<RemoteKeySetOptions> = {}) {
  const timers = manualTimers();
  const issuer = manualJwks();
  const keySet = new RemoteKeySet({ ...OPTIONS, backoff: BACKOFF, load: issuer.load, logger: silentLogger(), timers, random: () => 0, ...options });
  const config = { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'], clockToleranceS: 0, clientsClaim: 'clients', scopeClaim: 'scope' } as JwtConfig;
  const verifier = createJwtVerifier(config, keySet.getKey, silentLogger());
  /** The caller's subject, or the reason of the GatewayError it was refused with. */
  const verify = (token: string) =>
    verifier(token).then(
      (caller) => caller.subject,
      (error: unknown) => {
        if (!(error instanceof GatewayError)) throw error;
        return error.extensions['reason'] as string;
      },
    );
  return { timers, issuer, keySet, verify };
}

describe('RemoteKeySet', () => {
  const cleanup = useCleanup();

  it('the first tokens wait for the first fetch, one for all of them', async () => {
    const a = await newKey('a');
    const { issuer, verify, timers } = harness();
    const verified = Promise.all(Array.from({ length: 10 }, async () => verify(await sign(a))));
    await issuer.answer(jwks(a));
    expect(new Set(await verified)).toEqual(new Set(['subject-of-a']));
    expect(issuer.fetches).toBe(1);
    // Fresh: later tokens fetch nothing.
    timers.advance(OPTIONS.maxAgeMs);
    expect(await verify(await sign(a))).toBe('subject-of-a');
    expect(issuer.fetches).toBe(1);
    expect(timers.pending).toBe(0);
  });

  it('past the max age, a known kid is verified at once while one refresh runs behind it (a slow JWKS costs requests nothing)', async () => {
    const a = await newKey('a');
    const { issuer, verify, timers } = harness();
    const first = verify(await sign(a));
    await issuer.answer(jwks(a));
    await first;

    timers.advance(OPTIONS.maxAgeMs + 1);
    const tokens = await Promise.all(Array.from({ length: 20 }, () => sign(a)));
    // Every one verified while the refresh is still in flight (the issuer has not answered).
    expect(new Set(await Promise.all(tokens.map(verify)))).toEqual(new Set(['subject-of-a']));
    expect(issuer.fetches).toBe(2);
    expect(issuer.inFlight).toBe(1);
    expect(issuer.maxInFlight).toBe(1);

    await issuer.answer(jwks(a));
    await verify(tokens[0]!);
    expect(issuer.fetches).toBe(2);
    expect(timers.pending).toBe(0);
  });

  it('a failing JWKS: known kids keep verifying from the last good set; one fetch at a time, spaced by the backoff', async () => {
    const a = await newKey('a');
    const { logger, lines } = captureLogs('debug');
    const { issuer, verify, timers } = harness({ logger });
    const token = await sign(a);
    const first = verify(token);
    await issuer.answer(jwks(a));
    await first;

    timers.advance(OPTIONS.maxAgeMs + 1);
    const burst = Promise.all(Array.from({ length: 10 }, () => verify(token)));
    await issuer.fail();
    expect(new Set(await burst)).toEqual(new Set(['subject-of-a']));
    expect(issuer.fetches).toBe(2);

    // Each wait is the backoff after the failure before it: no token starts a fetch sooner.
    const fetchedAt: number[] = [];
    for (const wait of [500, 1_000, 2_000, 4_000, 4_000]) {
      const before = issuer.fetches;
      timers.advance(wait - 1);
      expect(await Promise.all([verify(token), verify(token)])).toEqual(['subject-of-a', 'subject-of-a']);
      expect(issuer.fetches).toBe(before);
      timers.advance(1);
      const verified = Promise.all(Array.from({ length: 10 }, () => verify(token)));
      await issuer.fail();
      fetchedAt.push(timers.now());
      expect(new Set(await verified)).toEqual(new Set(['subject-of-a']));
      expect(issuer.fetches).toBe(before + 1);
    }
    expect(fetchedAt.map((at, i) => at - (fetchedAt[i - 1] ?? at))).toEqual([0, 1_000, 2_000, 4_000, 4_000]);
    expect(issuer.maxInFlight).toBe(1);

    // Back: the next attempt succeeds, and the set is fresh again.
    timers.advance(4_000);
    const refreshed = verify(token);
    await issuer.answer(jwks(a));
    expect(await refreshed).toBe('subject-of-a');
    const fetches = issuer.fetches;
    timers.advance(OPTIONS.maxAgeMs);
    await verify(token);
    expect(issuer.fetches).toBe(fetches);
    expect(timers.pending).toBe(0);

    // One warning per failed fetch, one line when it is back, never the token.
    const warnings = lines.filter((line) => line['msg'] === 'the JWKS of the token issuer could not be fetched');
    expect(warnings).toHaveLength(6);
    expect(warnings[0]).toMatchObject({ level: 40, failures: 1, retryInMs: 500, keySetAgeMs: OPTIONS.maxAgeMs + 1 });
    expect(lines.filter((line) => line['msg'] === 'the JWKS of the token issuer is back')).toHaveLength(1);
    expect(JSON.stringify(lines)).not.toContain(token);
  });

  it('the staleness is bounded: past max age + max stale, tokens fail JWKS_UNAVAILABLE until a fetch succeeds', async () => {
    const a = await newKey('a');
    const { issuer, verify, timers } = harness({ maxAgeMs: 1_000, maxStaleMs: 10_000 });
    const token = await sign(a);
    const first = verify(token);
    await issuer.answer(jwks(a));
    await first;

    timers.advance(1_001);
    const stale = verify(token);
    await issuer.fail();
    expect(await stale).toBe('subject-of-a');
    // The last millisecond of the bound still verifies (it starts the attempt the backoff allows, which fails behind it).
    timers.advance(10_000 - 1);
    const last = verify(token);
    await issuer.fail();
    expect(await last).toBe('subject-of-a');

    // One past: the set is not used. Backing off, the token fails at once, with no fetch.
    timers.advance(1);
    let fetches = issuer.fetches;
    expect(await verify(token)).toBe('JWKS_UNAVAILABLE');
    expect(issuer.fetches).toBe(fetches);
    // Once the backoff allows, a token waits for the attempt; it fails, so does the token.
    timers.advance(1_000);
    const waiting = verify(token);
    await issuer.fail();
    expect(await waiting).toBe('JWKS_UNAVAILABLE');
    expect(issuer.fetches).toBe(fetches + 1);

    // The issuer is back: the first token after the backoff waits for the fetch and verifies.
    timers.advance(2_000);
    fetches = issuer.fetches;
    const back = verify(token);
    await issuer.answer(jwks(a));
    expect(await back).toBe('subject-of-a');
    expect(issuer.fetches).toBe(fetches + 1);
    expect(timers.pending).toBe(0);
  });

  it('max stale 0: past the max age a token waits for the refresh (no stale keys at all)', async () => {
    const a = await newKey('a');
    const { issuer, verify, timers } = harness({ maxStaleMs: 0 });
    const token = await sign(a);
    const first = verify(token);
    await issuer.answer(jwks(a));
    await first;
    timers.advance(OPTIONS.maxAgeMs + 1);
    const refused = verify(token);
    await issuer.fail();
    expect(await refused).toBe('JWKS_UNAVAILABLE');
  });

  it('a request waits for a fetch it needs at most waitMs; the fetch goes on until its own deadline, then leaves nothing behind', async () => {
    const a = await newKey('a');
    const { issuer, verify, timers } = harness();
    const token = await sign(a);
    const first = verify(token);
    await issuer.started();
    expect(timers.pending).toBe(2); // the request's wait and the fetch's deadline
    timers.advance(OPTIONS.waitMs);
    expect(await first).toBe('JWKS_UNAVAILABLE');
    expect(issuer.inFlight).toBe(1);
    expect(issuer.aborted()).toBe(false);

    // A token meanwhile joins the fetch in flight rather than starting another.
    const second = verify(token);
    await until(() => timers.pending === 2);
    timers.advance(OPTIONS.fetchTimeoutMs - OPTIONS.waitMs);
    expect(await second).toBe('JWKS_UNAVAILABLE');
    expect(issuer.fetches).toBe(1);
    await until(() => issuer.inFlight === 0);
    expect(timers.pending).toBe(0);
  });

  it('key rotation: an unknown kid refetches once per cooldown, and waits for it only within waitMs', async () => {
    const [a, b, c] = await Promise.all([newKey('a'), newKey('b'), newKey('c')]);
    const { issuer, verify, timers } = harness({ cooldownMs: 30_000 });
    const first = verify(await sign(a));
    await issuer.answer(jwks(a));
    await first;

    // Within the cooldown of the first fetch: an unknown kid is refused without a fetch.
    expect(await verify(await sign(b))).toBe('INVALID_TOKEN');
    expect(issuer.fetches).toBe(1);

    // Past it: b was rotated in; its first token refetches and verifies.
    timers.advance(30_000);
    const rotated = verify(await sign(b));
    await issuer.answer(jwks(a, b));
    expect(await rotated).toBe('subject-of-b');
    expect(issuer.fetches).toBe(2);

    // 20 made-up kids right after: not one fetch. After the cooldown: one, for all of them.
    const forged = await Promise.all(Array.from({ length: 20 }, (_, i) => sign(a, `made-up-${i}`)));
    expect(new Set(await Promise.all(forged.map(verify)))).toEqual(new Set(['INVALID_TOKEN']));
    expect(issuer.fetches).toBe(2);
    timers.advance(30_000);
    const refetched = Promise.all(forged.map(verify));
    await issuer.answer(jwks(a, b));
    expect(new Set(await refetched)).toEqual(new Set(['INVALID_TOKEN']));
    expect(issuer.fetches).toBe(3);

    // c is rotated in while the JWKS hangs: its token waits waitMs, then JWKS_UNAVAILABLE; a's
    // tokens verify at once meanwhile; c's next token joins the same fetch, which brings c.
    timers.advance(30_000);
    const tokenC = await sign(c);
    const waiting = verify(tokenC);
    await until(() => timers.pending === 2); // the fetch's deadline and c's wait
    expect(await verify(await sign(a))).toBe('subject-of-a');
    timers.advance(OPTIONS.waitMs);
    expect(await waiting).toBe('JWKS_UNAVAILABLE');
    const joined = verify(tokenC);
    await issuer.answer(jwks(a, b, c));
    expect(await joined).toBe('subject-of-c');
    expect(issuer.fetches).toBe(4);
    expect(timers.pending).toBe(0);
  });

  it('while the JWKS fails, an unknown kid is JWKS_UNAVAILABLE (it cannot be checked), with no fetch during the backoff', async () => {
    const [a, b] = await Promise.all([newKey('a'), newKey('b')]);
    const { issuer, verify, timers } = harness({ cooldownMs: 0 });
    const first = verify(await sign(a));
    await issuer.answer(jwks(a));
    await first;
    const failing = verify(await sign(b));
    await issuer.fail();
    expect(await failing).toBe('JWKS_UNAVAILABLE');
    expect(await verify(await sign(b))).toBe('JWKS_UNAVAILABLE');
    expect(await verify(await sign(a))).toBe('subject-of-a');
    expect(issuer.fetches).toBe(2);
    timers.advance(500);
    const retried = verify(await sign(b));
    await issuer.answer(jwks(a, b));
    expect(await retried).toBe('subject-of-b');
  });

  it('a key the issuer withdrew stops verifying once a refresh brings the new set', async () => {
    const [a, b] = await Promise.all([newKey('a'), newKey('b')]);
    const { issuer, verify, timers } = harness();
    const tokenA = await sign(a);
    const first = verify(tokenA);
    await issuer.answer(jwks(a, b));
    await first;
    timers.advance(OPTIONS.maxAgeMs + 1);
    expect(await verify(tokenA)).toBe('subject-of-a'); // verified by the old set, refreshing behind
    await issuer.answer(jwks(b));
    await until(() => timers.pending === 0); // the refresh has settled
    expect(await verify(tokenA)).toBe('INVALID_TOKEN');
    expect(await verify(await sign(b))).toBe('subject-of-b');
  });

  describe('over HTTP', () => {
    async function serve(handler: (response: ServerResponse) => void) {
      const server = createServer((_request, response) => handler(response));
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      cleanup(
        () =>
          new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      );
      return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`);
    }
    const loadOnce = (url: URL) => httpJwks(url)(new AbortController().signal);

    it('reads a 200 JSON answer; refuses other statuses (redirects not followed), bodies past the cap, and non-JSON', async () => {
      const a = await newKey('a');
      const body = JSON.stringify(jwks(a));
      expect(await loadOnce(await serve((response) => response.writeHead(200, { 'content-type': 'application/json' }).end(body)))).toEqual(jwks(a));
      const refusals: Array<[string, (response: ServerResponse) => void]> = [
        ['answered 500', (response) => response.writeHead(500).end('down')],
        ['answered 302', (response) => response.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end()],
        ['too large', (response) => response.writeHead(200, { 'content-length': String(300 * 1024) }).end('x'.repeat(300 * 1024))],
        [
          'too large',
          (response) => {
            // Chunked, no length announced: cut off while reading.
            response.writeHead(200);
            for (let i = 0; i < 300; i++) response.write('x'.repeat(1024));
            response.end();
          },
        ],
        ['not JSON', (response) => response.writeHead(200).end('<html>')],
      ];
      for (const [message, handler] of refusals) {
        await expect(loadOnce(await serve(handler))).rejects.toThrow(message);
      }
    });

    it('a JWKS that never answers is aborted at the fetch deadline: its socket closed, no timer left', async () => {
      const a = await newKey('a');
      let held: ServerResponse | undefined;
      const url = await serve((response) => {
        held = response;
      });
      const timers = manualTimers();
      const keySet = new RemoteKeySet({ ...OPTIONS, load: httpJwks(url), logger: silentLogger(), timers });
      const token = await sign(a);
      const config = { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'], clockToleranceS: 0, clientsClaim: 'c', scopeClaim: 'scope' } as JwtConfig;
      const verifying = createJwtVerifier(config, keySet.getKey, silentLogger())(token).catch((error: GatewayError) => error.extensions['reason']);
      await until(() => held !== undefined && timers.pending === 2); // the fetch's deadline and the request's wait
      timers.advance(OPTIONS.waitMs);
      expect(await verifying).toBe('JWKS_UNAVAILABLE');
      const closed = once(held!, 'close');
      timers.advance(OPTIONS.fetchTimeoutMs);
      await closed;
      expect(timers.pending).toBe(0);
    });
  });
});
