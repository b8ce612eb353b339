/**
 * The OAuth 2.0 token endpoint, `POST /oauth2/token`: client credentials grant (RFC 6749 §4.4).
 * Checks run in this order: body size (413), content type and form (400), client authentication
 * (400 for two methods at once, else 401), grant type (400), scope (400). Errors answer with the
 * §5.2 body `{"error": ..., "error_description": ...}`, never with the ASP.NET `Message` of the
 * Bulk Import routes: OAuth clients parse `error`.
 */
import { OAUTH, type OAuthErrorBody, type OAuthErrorCode, type OAuthTokenResponse } from '../mypreferences-contract.js';
import type { Clock } from './clock.js';
import type { Exchange } from './exchange.js';
import { headerValue } from './http-io.js';
import { isFormContentType, parseTokenForm, readClientAuthentication } from './oauth-request.js';
import type { OAuthTokenStore } from './oauth-tokens.js';

/** DECIDED: a token request is a few hundred bytes; anything past this is refused with 413. */
const TOKEN_BODY_LIMIT_BYTES = 16 * 1024;

/** The challenge of a 401 from the token endpoint (§5.2: it names the scheme to use). */
const TOKEN_CHALLENGE = 'Basic realm="mypreferences"';

/** What the token endpoint needs. */
export interface TokenRouteDeps {
  tokens: OAuthTokenStore;
  clock: Clock;
}

// §5.1 requires no-store on answers that carry a token; errors get it too so that no cache ever
// keeps an answer to a request that carried a secret.
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

/** Answers a token request with another method than POST. */
export function refuseTokenMethod(ex: Exchange): Promise<void> {
  return refuse(ex, 405, 'invalid_request', 'The token endpoint accepts only POST.', { allow: 'POST' });
}

/** Answers a POST to the token endpoint. */
export async function handleTokenRoute(ex: Exchange, deps: TokenRouteDeps): Promise<void> {
  const body = await ex.body(TOKEN_BODY_LIMIT_BYTES);
  if (body.kind === 'aborted') return;
  if (body.kind === 'too-large') {
    return refuse(ex, 413, 'invalid_request', `The request body exceeds ${TOKEN_BODY_LIMIT_BYTES} bytes.`);
  }
  if (!isFormContentType(headerValue(ex.req, 'content-type'))) {
    return refuse(ex, 400, 'invalid_request', 'The request body must be application/x-www-form-urlencoded.');
  }
  const form = parseTokenForm(body.body);
  if (!form.ok) return refuse(ex, 400, 'invalid_request', form.message);

  const auth = readClientAuthentication(headerValue(ex.req, 'authorization'), form.params);
  if (auth.kind === 'both') {
    return refuse(ex, 400, 'invalid_request', 'Use one client authentication method: HTTP Basic or the request body.');
  }
  const owner = auth.kind === 'credentials' && auth.clientSecret !== undefined ? deps.tokens.authenticate(auth.clientId, auth.clientSecret) : undefined;
  if (!owner) {
    return refuse(ex, 401, 'invalid_client', 'Client authentication failed.', { 'www-authenticate': TOKEN_CHALLENGE });
  }
  ex.entry.credentialLabel = owner.client.label;

  const grantType = form.params.get('grant_type');
  if (grantType === undefined) return refuse(ex, 400, 'invalid_request', 'The grant_type parameter is required.');
  if (grantType !== OAUTH.grantType) {
    return refuse(ex, 400, 'unsupported_grant_type', `The only supported grant_type is ${OAUTH.grantType}.`);
  }
  // §3.3: an omitted scope gets the default, here the only scope the client has.
  const scope = form.params.get('scope') ?? owner.scope;
  if (scope !== owner.scope) {
    return refuse(ex, 400, 'invalid_scope', "The scope must be {ClientId}/{UserId} of the client's account and user.");
  }

  const accessToken = deps.tokens.issue(owner, deps.clock.now());
  const answer: OAuthTokenResponse = {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: deps.tokens.ttlSeconds,
    scope,
  };
  return ex.json(200, answer, NO_STORE);
}

function refuse(ex: Exchange, status: number, error: OAuthErrorCode, description: string, headers: Record<string, string> = {}): Promise<void> {
  const body: OAuthErrorBody = { error, error_description: description };
  return ex.json(status, body, { ...NO_STORE, ...headers });
}
