import type { GatewayError } from '../errors/gateway-error.js';
import type { Secret } from './secret.js';
import type { ServiceAccount } from './service-account.js';
import type { UpstreamCredential } from './upstream-credential.js';

/** A token as the token endpoint granted it. */
export interface TokenGrant {
  accessToken: Secret;
  /** `expires_in` of the answer. */
  expiresInS: number;
}

/** Asks the account's token endpoint for a new token (the upstream client's `requestServiceToken`). */
export type RequestToken = (account: ServiceAccount, signal?: AbortSignal) => Promise<TokenGrant>;

export interface ServiceTokenOptions {
  account: ServiceAccount;
  requestToken: RequestToken;
  now: () => number;
  random: () => number;
}

/** Share of a token's life after which it is renewed (±{@link RENEW_JITTER}), so it never expires in use. */
const RENEW_AT = 0.8;
const RENEW_JITTER = 0.05;
/** A token is not sent in the last tenth of its life (at most 30 s): a call in flight must not outlive it. */
const SEND_MARGIN = 0.1;
const SEND_MARGIN_MAX_MS = 30_000;
/** After a failed token request, calls in this window fail with the same error instead of asking again. */
const FAILURE_HOLD_MS = 1_000;
/**
 * A token fetched because its predecessor was refused, and refused in its turn within this time,
 * is not renewed again: a fresh token refused says the 401 is about the call (an unknown or
 * expired accessToken answers 401 too), not the token. So callers can never drive the token
 * endpoint faster than one request per account in this time, while a token really revoked is
 * replaced within it.
 */
const REFUSED_AGAIN_HOLD_MS = 60_000;

interface HeldToken {
  value: string;
  /** When its request left. */
  grantedAtMs: number;
  renewAtMs: number;
  /** From here on the token is not sent any more. */
  retireAtMs: number;
  /** It replaced a token the upstream refused (a 401), rather than one that grew old. */
  afterRefusal: boolean;
}

/**
 * The gateway's MyPreferences credential for one service account (jwt mode): an OAuth
 * client-credentials token, fetched on first use and renewed before it expires.
 *
 * - **Renewed early.** Past about 80 % of its life (with jitter, so that accounts do not renew in
 *   step) the next call starts a renewal in the background and still uses the current token;
 *   only a token in its last tenth is never sent, so no call carries an expired token and a
 *   subscription running for days never notices.
 * - **Single-flight.** However many calls arrive meanwhile, one token request is in flight.
 * - **Rejected once, renewed once.** When the upstream answers 401 to the current token, it is
 *   dropped; the upstream client retries that call once with a fresh one. Calls refused with the
 *   same token meanwhile wait for that one renewal; one refused with an older token retries with
 *   the current one. A token fetched after a refusal and refused in its turn is kept (the 401s are
 *   about the calls) until {@link REFUSED_AGAIN_HOLD_MS} has passed.
 *
 * Its `id` names the account, so every authorised caller of an import shares one poller.
 */
export class ServiceTokenCredential implements UpstreamCredential {
  readonly id: string;
  readonly #options: ServiceTokenOptions;
  #held: HeldToken | undefined;
  #renewing: Promise<HeldToken> | undefined;
  #lastFailure: { error: unknown; atMs: number } | undefined;
  #requests = 0;

  constructor(options: ServiceTokenOptions) {
    this.#options = options;
    this.id = `service-account:${options.account.clientId}`;
  }

  /** Token requests made so far (for metrics and tests). */
  get tokenRequests(): number {
    return this.#requests;
  }

  async authorization(): Promise<string> {
    const now = this.#options.now();
    const held = this.#held;
    if (held && now < held.retireAtMs) {
      if (now >= held.renewAtMs) this.#renew().catch(() => undefined);
      return `Bearer ${held.value}`;
    }
    return `Bearer ${(await this.#renew()).value}`;
  }

  rejected(authorization: string): boolean {
    const held = this.#held;
    // Renewing already, or a newer token is held: the retry takes that one.
    if (!held || authorization !== `Bearer ${held.value}`) return true;
    if (held.afterRefusal && this.#options.now() - held.grantedAtMs < REFUSED_AGAIN_HOLD_MS) return false;
    this.#held = undefined;
    this.#renew(true).catch(() => undefined);
    return true;
  }

  #renew(afterRefusal = false): Promise<HeldToken> {
    if (this.#renewing) return this.#renewing;
    const { now } = this.#options;
    const failure = this.#lastFailure;
    if (failure && now() - failure.atMs < FAILURE_HOLD_MS) return Promise.reject(failure.error as GatewayError);
    const startedAt = now();
    this.#requests++;
    const renewing = this.#options
      .requestToken(this.#options.account)
      .then((grant) => {
        // Counted from when the request left: the issuer's clock started no later than that.
        const lifeMs = grant.expiresInS * 1000;
        const renewShare = RENEW_AT + RENEW_JITTER * (2 * this.#options.random() - 1);
        const held: HeldToken = {
          value: grant.accessToken.reveal(),
          grantedAtMs: startedAt,
          renewAtMs: startedAt + lifeMs * renewShare,
          retireAtMs: startedAt + lifeMs - Math.min(lifeMs * SEND_MARGIN, SEND_MARGIN_MAX_MS),
          afterRefusal,
        };
        this.#held = held;
        this.#lastFailure = undefined;
        return held;
      })
      .catch((error: unknown) => {
        this.#lastFailure = { error, atMs: now() };
        throw error;
      })
      .finally(() => {
        this.#renewing = undefined;
      });
    this.#renewing = renewing;
    return renewing;
  }
}

/** One {@link ServiceTokenCredential} per configured account, keyed by MyPreferences clientId. */
export class ServiceAccounts {
  readonly #credentials = new Map<string, ServiceTokenCredential>();

  constructor(accounts: ReadonlyMap<string, ServiceAccount>, options: Omit<ServiceTokenOptions, 'account'>) {
    for (const [clientId, account] of accounts) this.#credentials.set(clientId, new ServiceTokenCredential({ ...options, account }));
  }

  /** The credential for `clientId`, or undefined when the gateway has no service account for it. */
  credentialFor(clientId: string): ServiceTokenCredential | undefined {
    return this.#credentials.get(clientId);
  }

  /** Token requests made for every account so far. */
  get tokenRequests(): number {
    let total = 0;
    for (const credential of this.#credentials.values()) total += credential.tokenRequests;
    return total;
  }
}
