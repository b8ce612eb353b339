/**
 * Who a Bulk Import request acts as: one of the account's static credentials (exact header
 * value), or a bearer token the token endpoint issued for one of the account's OAuth clients.
 */
import { matchCredential, type ResolvedAccount } from './accounts.js';
import type { OAuthTokenStore } from './oauth-tokens.js';

/** What an accepted `Authorization` header allows. */
export interface RouteGrant {
  /** Safe to log: the credential's or the OAuth client's label. */
  label: string;
  canImport: boolean;
}

/** RFC 6750 §2.1: `Bearer b64token`, the scheme case-insensitive. */
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * The grant `authorization` carries for `account` at clock time `now`, if any. A token counts
 * only while unexpired and unrevoked, and only for the account of its scope: another account's
 * token is as unknown as a guessed one.
 */
export function authorize(account: ResolvedAccount, authorization: string | undefined, tokens: OAuthTokenStore, now: number): RouteGrant | undefined {
  const credential = matchCredential(account, authorization);
  if (credential) return { label: credential.label, canImport: credential.canImport };
  const token = authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
  const issued = token === undefined ? undefined : tokens.lookup(token, now);
  if (!issued || issued.owner.account.clientId !== account.clientId) return undefined;
  return { label: issued.owner.client.label, canImport: issued.owner.client.canImport };
}
