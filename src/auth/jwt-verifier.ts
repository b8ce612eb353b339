import { errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { JwtConfig } from '../config/config.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Logger } from '../logger.js';
import type { VerifiedCaller } from './caller.js';
import { httpJwks, KeysUnavailable, RemoteKeySet } from './jwks.js';

/** Verifies a caller's bearer token; every failure is a coded GatewayError. */
export type VerifyToken = (token: string) => Promise<VerifiedCaller>;

/**
 * The issuer's keys: its JWKS over HTTP, kept by a {@link RemoteKeySet} (refreshed in the
 * background, the last good set serving known `kid`s while the issuer is down, within bounds).
 */
export function remoteKeys(config: JwtConfig & { jwksUrl: URL }, logger: Logger): JWTVerifyGetKey {
  return new RemoteKeySet({
    load: httpJwks(config.jwksUrl),
    maxAgeMs: config.jwksMaxAgeMs,
    maxStaleMs: config.jwksMaxStaleMs,
    // An unknown kid refetches the JWKS (key rotation needs no restart), at most once per cooldown,
    // so a flood of tokens with made-up kids costs the issuer one request per cooldown.
    cooldownMs: config.jwksCooldownMs,
    waitMs: config.jwksWaitMs,
    logger,
  }).getKey;
}

/** jose failures that say nothing about the token: the issuer's keys could not be had or read. */
const KEYS_UNAVAILABLE = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID', 'ERR_JOSE_GENERIC']);

/**
 * Verifies company JWTs with jose: signature against the issuer's keys, `iss`, `aud`, `exp` (with
 * the clock tolerance) and `nbf`, an allow-list of asymmetric algorithms (so neither `alg: none`
 * nor an HMAC keyed with a published key can pass), and the `sub` and `exp` claims required.
 * Grants come from the configured claims.
 */
export function createJwtVerifier(config: JwtConfig, keys: JWTVerifyGetKey, logger: Logger): VerifyToken {
  return async (token) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: config.issuer,
        audience: config.audience,
        algorithms: config.algorithms,
        clockTolerance: config.clockToleranceS,
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (error) {
      throw verificationError(error, logger);
    }
    return {
      subject: payload.sub!,
      clients: clientsOf(payload[config.clientsClaim]),
      scopes: scopesOf(payload[config.scopeClaim]),
      expiresAtMs: (payload.exp! + config.clockToleranceS) * 1000,
    };
  };
}

function clientsOf(claim: unknown): VerifiedCaller['clients'] {
  const values = typeof claim === 'string' ? [claim] : Array.isArray(claim) ? claim.filter((value): value is string => typeof value === 'string') : [];
  return values.includes('*') ? '*' : new Set(values);
}

function scopesOf(claim: unknown): ReadonlySet<string> {
  if (typeof claim === 'string') return new Set(claim.split(' ').filter((scope) => scope !== ''));
  if (Array.isArray(claim)) return new Set(claim.filter((scope): scope is string => typeof scope === 'string'));
  return new Set();
}

function verificationError(error: unknown, logger: Logger): GatewayError {
  if (error instanceof errors.JWTExpired) {
    return new GatewayError('UNAUTHENTICATED', 'The token has expired: get a fresh one.', { reason: 'TOKEN_EXPIRED' });
  }
  const code = error instanceof errors.JOSEError ? error.code : undefined;
  if (error instanceof KeysUnavailable || code === undefined || KEYS_UNAVAILABLE.has(code)) {
    // Not the caller's fault: the issuer's JWKS could not be fetched or read. The key set logs each
    // failed fetch once; each request refused for it is a debug line.
    if (error instanceof KeysUnavailable) logger.debug({ cause: error.message }, 'the JWKS of the token issuer is unavailable');
    else logger.warn({ cause: code ?? (error instanceof Error ? error.name : 'unknown') }, 'the JWKS of the token issuer is unavailable');
    return new GatewayError('UPSTREAM_UNAVAILABLE', 'The token cannot be checked right now; try again shortly.', { reason: 'JWKS_UNAVAILABLE' });
  }
  logger.debug({ cause: code }, 'token refused');
  return new GatewayError('UNAUTHENTICATED', 'The token is not valid for this gateway.', { reason: 'INVALID_TOKEN' });
}
