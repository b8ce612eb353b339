import { describe, expect, it } from 'vitest';
import { ImportSummaryDocument, InitiateImportDocument } from '../../operations/generated.js';
import { DEMO_ACCOUNT, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startGateway } from '../helpers/gateway.js';
import { type GraphQLResponse, onlyError, postGraphQL } from '../helpers/graphql.js';
import { startIdentityProvider, writeAccountsFile } from '../helpers/identity-provider.js';

/**
 * The issuer's JWKS down, slow or rotating, with the gateway on a real port in jwt mode in front
 * of the simulator, and a JWKS server the test makes answer, fail with 500 or hang. Time is not
 * faked here: `AUTH_JWKS_MAX_AGE_MS=0` puts the key set past its age from the first token on, and
 * each test waits on what the JWKS server sees. (The same rules to the millisecond, on a manual
 * clock: test/unit/jwks.test.ts.)
 */

const clientId = DEMO_ACCOUNT.clientId;
const bearer = (token: string) => `Bearer ${token}`;
/** The least wait after the first failed fetch: half of the 1 s backoff ceiling (equal jitter). */
const FIRST_BACKOFF_MIN_MS = 500;

describe('JWKS outages', () => {
  const cleanup = useCleanup();

  /** A gateway with `env`, and an import made through it (its one request fetched the JWKS, once). */
  async function setup(env: Record<string, string>) {
    const simulator = await startSimulator();
    cleanup(() => simulator.stop());
    const idp = await startIdentityProvider(cleanup);
    const gateway = await startGateway(simulator.baseUrl, { ...idp.env(writeAccountsFile(simulator, cleanup)), ...env }, cleanup);
    const initiated = await postGraphQL(gateway.url, InitiateImportDocument, { clientId, input: { name: 'jwks' } }, bearer(await idp.mint()));
    expect(initiated.errors).toBeUndefined();
    const ref = { clientId, accessToken: initiated.data!['initiateImport'].accessToken as string };
    const summary = (token: string) => postGraphQL(gateway.url, ImportSummaryDocument, ref, bearer(token));
    expect(idp.jwksFetches).toBe(1);
    return { idp, summary };
  }

  const verified = (answer: GraphQLResponse) => answer.errors === undefined && answer.data?.['importSummary']?.status === 'INITIATED';

  it('past the cache age with the JWKS failing (500), valid tokens still verify: one fetch in flight, fetches spaced by the backoff', async () => {
    const { idp, summary } = await setup({ AUTH_JWKS_MAX_AGE_MS: '0' });
    const token = await idp.mint();
    idp.setJwks({ answer: 'status', status: 500 });
    const before = idp.jwksFetches;

    // 50 at once, then 50 more: every one verified from the last good keys.
    const started = Date.now();
    const bursts = [...(await Promise.all(Array.from({ length: 50 }, () => summary(token))))];
    bursts.push(...(await Promise.all(Array.from({ length: 50 }, () => summary(token)))));
    const elapsedMs = Date.now() - started;
    expect(bursts.filter(verified)).toHaveLength(100);
    // Not one fetch per request (100 before the fix): one, plus one per backoff that ran out meanwhile.
    const failedFetches = idp.jwksFetches - before;
    expect(failedFetches).toBeGreaterThanOrEqual(1);
    expect(failedFetches).toBeLessThanOrEqual(1 + Math.floor(elapsedMs / FIRST_BACKOFF_MIN_MS));

    // Requests keep coming, one after another: the next fetch waits out the backoff.
    const fetchedAt = idp.jwksFetchTimes.slice(-1);
    const target = idp.jwksFetches + 1;
    for (let n = 0; idp.jwksFetches < target && n < 5_000; n++) expect(verified(await summary(token))).toBe(true);
    await idp.jwksFetched(target);
    fetchedAt.push(idp.jwksFetchTimes.at(-1)!);
    expect(fetchedAt[1]! - fetchedAt[0]!).toBeGreaterThanOrEqual(FIRST_BACKOFF_MIN_MS);
    expect(idp.maxJwksInFlight).toBe(1);
  });

  it('past the cache age with the JWKS hanging, requests do not wait: they verify with the last good keys while one refresh hangs', async () => {
    const { idp, summary } = await setup({ AUTH_JWKS_MAX_AGE_MS: '0' });
    const token = await idp.mint();
    const before = idp.jwksFetches;
    idp.setJwks({ answer: 'hang' });

    const answers = await Promise.all(Array.from({ length: 30 }, () => summary(token)));
    expect(answers.filter(verified)).toHaveLength(30);
    await idp.jwksFetched(before + 1);
    // The refresh they started is still held by the JWKS server: nobody waited for it.
    expect(idp.jwksInFlight).toBe(1);
    // Another 30 while it hangs: verified, and no second fetch beside it.
    expect((await Promise.all(Array.from({ length: 30 }, () => summary(token)))).filter(verified)).toHaveLength(30);
    expect(idp.jwksFetches).toBe(before + 1);
    expect(idp.maxJwksInFlight).toBe(1);
  });

  it('a rotated key while the JWKS hangs: its token waits AUTH_JWKS_WAIT_MS at most; the held fetch then brings the key', async () => {
    const { idp, summary } = await setup({ AUTH_JWKS_COOLDOWN_MS: '0', AUTH_JWKS_WAIT_MS: '300' });
    const oldKeyToken = await idp.mint();
    const before = idp.jwksFetches;
    idp.setJwks({ answer: 'hang' });
    await idp.rotate();
    const rotatedToken = await idp.mint();

    const refused = await summary(rotatedToken);
    expect(onlyError(refused).extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason: 'JWKS_UNAVAILABLE' });
    // It was answered while the refetch it caused is still held: it waited its bound, not the fetch.
    await idp.jwksFetched(before + 1);
    expect(idp.jwksInFlight).toBe(1);
    // Known keys are not held up by the hanging refetch.
    expect(verified(await summary(oldKeyToken))).toBe(true);

    // The next token of the new key joins the same fetch; released, it brings the key.
    const joined = summary(rotatedToken);
    await new Promise((resolve) => setImmediate(resolve));
    idp.releaseHeld();
    expect(verified(await joined)).toBe(true);
    expect(verified(await summary(rotatedToken))).toBe(true);
    expect(idp.jwksFetches).toBe(before + 1);
  });

  it('the staleness is bounded: with AUTH_JWKS_MAX_STALE_MS=0, past the cache age a failing JWKS fails tokens JWKS_UNAVAILABLE, without a fetch per request', async () => {
    const { idp, summary } = await setup({ AUTH_JWKS_MAX_AGE_MS: '0', AUTH_JWKS_MAX_STALE_MS: '0' });
    const token = await idp.mint();
    idp.setJwks({ answer: 'status', status: 500 });
    const before = idp.jwksFetches;

    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 10 }, () => summary(token)));
    const elapsedMs = Date.now() - started;
    for (const answer of answers) expect(onlyError(answer).extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason: 'JWKS_UNAVAILABLE' });
    // 10 fetches for 10 requests before the fix; now the requests share one, and the backoff holds the rest.
    expect(idp.jwksFetches - before).toBeLessThanOrEqual(1 + Math.floor(elapsedMs / FIRST_BACKOFF_MIN_MS));
    expect(idp.maxJwksInFlight).toBe(1);
  });
});
