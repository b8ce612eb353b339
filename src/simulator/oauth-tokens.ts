/**
 * The OAuth side of the simulator's memory: which OAuth client belongs to which account, and the
 * bearer tokens the token endpoint issued. Pure state with the clock passed in, like the import
 * store; HTTP concerns live in `token-route.ts`.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { oauthScope } from '../mypreferences-contract.js';
import type { ResolvedAccount, SimulatorOAuthClient } from './accounts.js';

/** Random bytes per token: 32 bytes read as 43 base64url characters. */
const TOKEN_BYTES = 32;

/** An OAuth client together with the account it acts for. */
export interface RegisteredOAuthClient {
  readonly account: ResolvedAccount;
  readonly client: SimulatorOAuthClient;
  /** The only scope the client may ask for: `{ClientId}/{UserId}`. */
  readonly scope: string;
}

/** A token the endpoint issued. The token itself is only the key it is stored under. */
export interface IssuedToken {
  readonly owner: RegisteredOAuthClient;
  /** The token is refused from this clock time on (`now >= expiresAt`). */
  readonly expiresAt: number;
}

/** OAuth clients and their live tokens. */
export class OAuthTokenStore {
  readonly #clients = new Map<string, RegisteredOAuthClient>();
  /**
   * In issue order. With one lifetime for all tokens that is also expiry order, which lets
   * {@link issue} forget expired tokens from the front in amortised constant time.
   */
  readonly #tokens = new Map<string, IssuedToken>();
  /** The lifetime of every token, also its `expires_in`. */
  readonly ttlSeconds: number;
  #issued = 0;

  constructor(accounts: Iterable<ResolvedAccount>, ttlSeconds: number) {
    this.ttlSeconds = ttlSeconds;
    // resolveAccounts has already refused a client id listed twice.
    for (const account of accounts) {
      for (const client of account.oauthClients) {
        this.#clients.set(client.clientId, { account, client, scope: oauthScope(account.clientId, client.userId) });
      }
    }
  }

  /** Tokens issued since start, expired and revoked ones included. */
  get issued(): number {
    return this.#issued;
  }

  /**
   * The client with this id if `secret` is its secret. The secrets are compared in constant time,
   * and an unknown id costs the same comparison, so timing tells neither the secret nor which ids
   * exist.
   */
  authenticate(clientId: string, secret: string): RegisteredOAuthClient | undefined {
    const registered = this.#clients.get(clientId);
    const matches = sameSecret(secret, registered?.client.clientSecret ?? '');
    return registered && matches ? registered : undefined;
  }

  /** Issues a fresh random token for `owner` at clock time `now`. */
  issue(owner: RegisteredOAuthClient, now: number): string {
    this.#forgetExpired(now);
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    this.#tokens.set(token, { owner, expiresAt: now + this.ttlSeconds * 1000 });
    this.#issued += 1;
    return token;
  }

  /** The token's grant if it was issued, is not revoked and has not expired at `now`. */
  lookup(token: string, now: number): IssuedToken | undefined {
    const issued = this.#tokens.get(token);
    return issued && now < issued.expiresAt ? issued : undefined;
  }

  /** Makes every token issued so far unusable; returns how many were still usable at `now`. */
  revokeAll(now: number): number {
    let live = 0;
    for (const issued of this.#tokens.values()) if (now < issued.expiresAt) live += 1;
    this.#tokens.clear();
    return live;
  }

  #forgetExpired(now: number): void {
    // A manual clock may move backwards: then the front may not be expired and the sweep stops
    // early, which only delays forgetting; lookup() checks expiry itself.
    for (const [token, issued] of this.#tokens) {
      if (now < issued.expiresAt) return;
      this.#tokens.delete(token);
    }
  }
}

/**
 * Constant-time equality of two strings of any lengths: timingSafeEqual needs equal-length
 * buffers, and comparing digests gives it those without leaking the secret's length.
 */
function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}
