import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/credentials/secret.js';
import type { ServiceAccount } from '../../src/credentials/service-account.js';
import { ServiceTokenCredential, type TokenGrant } from '../../src/credentials/service-token.js';
import { GatewayError } from '../../src/errors/gateway-error.js';

/** The service token's life cycle on a manual clock, with a token endpoint the test answers by hand. */

const account: ServiceAccount = {
  clientId: 'acme',
  tokenUrl: new URL('https://auth.example.test/oauth2/token'),
  oauthClientId: 'client',
  clientSecret: new Secret('secret'),
  scope: 'acme/ApiUser',
  auth: 'basic',
};

function harness(random = 0.5) {
  let now = 1_000_000;
  const pending: Array<{ resolve: (grant: TokenGrant) => void; reject: (error: unknown) => void }> = [];
  let issued = 0;
  const credential = new ServiceTokenCredential({
    account,
    now: () => now,
    random: () => random,
    requestToken: () => new Promise<TokenGrant>((resolve, reject) => pending.push({ resolve, reject })),
  });
  const grant = (expiresInS = 100) => pending.shift()!.resolve({ accessToken: new Secret(`token-${++issued}`), expiresInS });
  const flush = () => new Promise((resolve) => setImmediate(resolve));
  return { credential, pending, grant, flush, advance: (ms: number) => (now += ms) };
}

describe('ServiceTokenCredential', () => {
  it('fetches once for any number of concurrent callers', async () => {
    const { credential, pending, grant } = harness();
    const calls = Array.from({ length: 1000 }, () => credential.authorization());
    expect(pending).toHaveLength(1);
    grant();
    expect(new Set(await Promise.all(calls))).toEqual(new Set(['Bearer token-1']));
    expect(credential.tokenRequests).toBe(1);
  });

  it('renews in the background at 80 % of its life while still sending the current token', async () => {
    const { credential, pending, grant, advance } = harness(0.5);
    const first = credential.authorization();
    grant(100);
    await first;
    advance(79_000);
    expect(await credential.authorization()).toBe('Bearer token-1');
    expect(pending).toHaveLength(0);
    advance(1_000); // 80 s of 100
    expect(await credential.authorization()).toBe('Bearer token-1');
    expect(pending).toHaveLength(1);
    grant(100);
    await Promise.resolve();
    expect(await credential.authorization()).toBe('Bearer token-2');
    expect(credential.tokenRequests).toBe(2);
  });

  it('spreads renewals by ±5 % of the life (jitter)', async () => {
    for (const [random, renewsAfterS] of [
      [0, 75],
      [1, 85],
    ] as const) {
      const { credential, pending, grant, advance } = harness(random);
      const first = credential.authorization();
      grant(100);
      await first;
      advance(renewsAfterS * 1000 - 1);
      await credential.authorization();
      expect(pending).toHaveLength(0);
      advance(1);
      await credential.authorization();
      expect(pending).toHaveLength(1);
    }
  });

  it('never sends a token in the last tenth of its life: callers wait for the renewal', async () => {
    const { credential, pending, grant, advance, flush } = harness(0.5);
    const first = credential.authorization();
    grant(100);
    await first;
    advance(90_000);
    let answer: string | undefined;
    void credential.authorization().then((value) => (answer = value));
    await flush();
    expect(answer).toBeUndefined();
    expect(pending).toHaveLength(1);
    grant(100);
    await flush();
    expect(answer).toBe('Bearer token-2');
  });

  it('drops a token the upstream refused, so the retry gets a fresh one', async () => {
    const { credential, grant, pending } = harness();
    const first = credential.authorization();
    grant();
    expect(credential.rejected(await first)).toBe(true);
    const second = credential.authorization();
    expect(pending).toHaveLength(1);
    grant();
    expect(await second).toBe('Bearer token-2');
    // A late 401 for the old token does not throw the new one away.
    credential.rejected('Bearer token-1');
    expect(await credential.authorization()).toBe('Bearer token-2');
  });

  it('renews once for any number of calls refused with the same token', async () => {
    const { credential, grant, pending } = harness();
    const first = credential.authorization();
    grant();
    const token = await first;
    expect(Array.from({ length: 30 }, () => credential.rejected(token))).toEqual(Array(30).fill(true));
    expect(pending).toHaveLength(1);
    const retries = Array.from({ length: 30 }, () => credential.authorization());
    grant();
    expect(new Set(await Promise.all(retries))).toEqual(new Set(['Bearer token-2']));
    expect(credential.tokenRequests).toBe(2);
  });

  it('keeps a token fetched after a refusal when it is refused too: the 401s are about the calls, and callers cannot drive the token endpoint', async () => {
    const { credential, grant, pending, advance } = harness();
    const first = credential.authorization();
    grant();
    expect(credential.rejected(await first)).toBe(true);
    const fresh = credential.authorization();
    grant();
    const token = await fresh;
    // An unknown accessToken answers 401 to any token: no retry, no new token, however often.
    for (let call = 0; call < 100; call++) expect(credential.rejected(token)).toBe(false);
    expect(pending).toHaveLength(0);
    expect(await credential.authorization()).toBe(token);
    expect(credential.tokenRequests).toBe(2);
    // A minute on, a refusal is believed again: a token revoked meanwhile is replaced.
    advance(60_000);
    expect(credential.rejected(token)).toBe(true);
    expect(pending).toHaveLength(1);
  });

  it('after a failed token request, answers the same error for a second instead of asking again', async () => {
    const { credential, pending, advance } = harness();
    const failure = new GatewayError('UPSTREAM_UNAVAILABLE', 'no token', { reason: 'TOKEN_ENDPOINT' });
    const first = credential.authorization();
    pending.shift()!.reject(failure);
    await expect(first).rejects.toBe(failure);
    await expect(credential.authorization()).rejects.toBe(failure);
    expect(credential.tokenRequests).toBe(1);
    advance(1_000);
    void credential.authorization();
    expect(credential.tokenRequests).toBe(2);
  });
});
