import { SpanKind } from '@opentelemetry/api';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_SERVER_ADDRESS } from '@opentelemetry/semantic-conventions';
import type { Dispatcher } from 'undici';
import { Secret } from '../credentials/secret.js';
import type { ServiceAccount } from '../credentials/service-account.js';
import type { RequestToken, TokenGrant } from '../credentials/service-token.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Logger } from '../logger.js';
import { ATTR, errorCodeOf, failSpan, injectTraceContext, tracer } from '../telemetry/spans.js';
import { readCappedBody } from './capped-body.js';
import type { UpstreamBudget } from './resilience/budget.js';
import { transportErrorCode } from './upstream-errors.js';

export interface TokenEndpointOptions {
  /** An undici dispatcher that reaches any origin (token endpoints need not share the API's). */
  dispatcher: Dispatcher;
  /** The upstream budget: token requests count against it (and against their clientId's share) like any other call. */
  budget: UpstreamBudget;
  interactiveWaitMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  logger: Logger;
  /** Told about every token request: its HTTP status (or `error`) and duration. @default none */
  observe?: (route: 'token', outcome: number | 'error', seconds: number) => void;
}

/** A token answer is a few hundred bytes; anything much larger is not one. */
const MAX_TOKEN_BODY_BYTES = 64 * 1024;
/** `expires_in` is RECOMMENDED, not required (RFC 6749 §5.1): without it, assume a short life. */
const DEFAULT_EXPIRES_IN_S = 300;

/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4) against a service account's token endpoint: a
 * form-encoded POST with `grant_type=client_credentials` and the account's `scope`, the client
 * authenticated by HTTP Basic (§2.3.1, the default) or in the body.
 *
 * Every failure — refused connection, timeout, an error answer, a body that is not a bearer
 * token — is UPSTREAM_UNAVAILABLE with `reason: TOKEN_ENDPOINT`: the caller can do nothing about
 * it but retry later, and the operator finds the cause in the log (never the secret).
 */
export function createTokenRequester(options: TokenEndpointOptions): RequestToken {
  const { dispatcher, budget, logger } = options;

  return async function requestToken(account: ServiceAccount, signal?: AbortSignal): Promise<TokenGrant> {
    const form = new URLSearchParams({ grant_type: 'client_credentials', scope: account.scope });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (account.auth === 'basic') {
      // §2.3.1: both parts form-urlencoded before they are joined and base64-encoded.
      const pair = `${formEncode(account.oauthClientId)}:${formEncode(account.clientSecret.reveal())}`;
      headers['authorization'] = `Basic ${Buffer.from(pair).toString('base64')}`;
    } else {
      form.set('client_id', account.oauthClientId);
      form.set('client_secret', account.clientSecret.reveal());
    }

    // In the queue of the clientId it is for, first among that clientId's calls: every one of them waits on it.
    const release = await budget.acquire(account.clientId, 'write', options.interactiveWaitMs, signal);
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    const context = { account: account.clientId, tokenUrl: account.tokenUrl.origin + account.tokenUrl.pathname };
    // A client span like the API's, and its traceparent sent along; never the secret, the form or the token.
    const span = tracer.startSpan('POST service token', {
      kind: SpanKind.CLIENT,
      attributes: {
        [ATTR_HTTP_REQUEST_METHOD]: 'POST',
        [ATTR.urlTemplate]: account.tokenUrl.pathname,
        [ATTR.route]: 'token',
        [ATTR.clientId]: account.clientId,
        [ATTR_SERVER_ADDRESS]: account.tokenUrl.hostname,
      },
    });
    injectTraceContext(span, headers);
    try {
      let response: Dispatcher.ResponseData;
      try {
        response = await dispatcher.request({
          origin: account.tokenUrl.origin,
          path: account.tokenUrl.pathname + account.tokenUrl.search,
          method: 'POST',
          headers,
          body: form.toString(),
          signal: signal ?? null,
          headersTimeout: options.headersTimeoutMs,
          bodyTimeout: options.bodyTimeoutMs,
        });
      } catch (error) {
        options.observe?.('token', 'error', seconds());
        if (signal?.aborted) throw signal.reason ?? error;
        logger.warn({ ...context, cause: transportErrorCode(error) ?? 'unknown' }, 'token request failed');
        throw tokenEndpointError();
      }
      const text = await readCappedBody(response.body, MAX_TOKEN_BODY_BYTES).then(
        (body) => body.text,
        () => undefined,
      );
      options.observe?.('token', response.statusCode, seconds());
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, response.statusCode);
      if (response.statusCode !== 200) {
        // The OAuth error code (invalid_client, invalid_scope, …) says what to fix; it holds no secret.
        logger.error({ ...context, upstreamStatus: response.statusCode, oauthError: oauthErrorOf(text) }, 'token endpoint refused the service account');
        throw tokenEndpointError(response.statusCode);
      }
      const grant = text === undefined ? undefined : parseGrant(text);
      if (!grant) {
        logger.error({ ...context, upstreamStatus: 200 }, 'token endpoint answered without a usable bearer token');
        throw tokenEndpointError(200);
      }
      return grant;
    } catch (error) {
      if (!signal?.aborted) failSpan(span, [errorCodeOf(error)]);
      throw error;
    } finally {
      span.end();
      release();
    }
  };
}

function tokenEndpointError(upstreamStatus?: number): GatewayError {
  return new GatewayError('UPSTREAM_UNAVAILABLE', 'The gateway could not obtain its MyPreferences service token; try again shortly.', {
    reason: 'TOKEN_ENDPOINT',
    ...(upstreamStatus !== undefined && { upstreamStatus }),
  });
}

/** `application/x-www-form-urlencoded` encoding of one value (spaces as `+`). */
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

function parseGrant(text: string): TokenGrant | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const { access_token: accessToken, token_type: tokenType, expires_in: expiresIn } = (json ?? {}) as Record<string, unknown>;
  if (typeof accessToken !== 'string' || !/^[\x21-\x7e]+$/.test(accessToken)) return undefined;
  if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer') return undefined;
  const expiresInS = expiresIn === undefined ? DEFAULT_EXPIRES_IN_S : Number(expiresIn);
  if (!Number.isFinite(expiresInS) || expiresInS <= 0) return undefined;
  return { accessToken: new Secret(accessToken), expiresInS };
}

function oauthErrorOf(text: string | undefined): string | undefined {
  try {
    const error = (JSON.parse(text ?? '') as { error?: unknown }).error;
    return typeof error === 'string' && /^[\w.-]{1,64}$/.test(error) ? error : undefined;
  } catch {
    return undefined;
  }
}
