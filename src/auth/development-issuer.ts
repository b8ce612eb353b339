import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, exportJWK, generateKeyPair, type JSONWebKeySet, type JWTVerifyGetKey, SignJWT } from 'jose';
import type { JwtConfig } from '../config/config.js';
import { SCOPES } from './caller.js';

/** What a development token grants. */
export interface DevelopmentTokenRequest {
  /** @default 'developer' */
  subject?: string;
  /** MyPreferences clientIds, or `['*']`. @default ['demo'] */
  clients?: readonly string[];
  /** @default both bulk-import scopes */
  scopes?: readonly string[];
  /** @default 3600 */
  ttlSeconds?: number;
}

/**
 * A stand-in for the company's identity provider when the gateway runs with nothing configured:
 * an ephemeral ES256 key pair made at start, its JWKS (served by the gateway at
 * `/.well-known/jwks.json`), and tokens minted on request, so the zero-config gateway runs
 * exactly the jwt mode a company deploys. The keys die with the process.
 */
export interface DevelopmentIssuer {
  readonly issuer: string;
  readonly audience: string;
  readonly jwks: JSONWebKeySet;
  /** The keys the gateway verifies with (the same JWKS, without an HTTP round trip to itself). */
  readonly keys: JWTVerifyGetKey;
  mint(request?: DevelopmentTokenRequest): Promise<{ token: string; expiresAt: Date }>;
}

/** Tokens carry the claims `config` reads: its issuer, audience, clients claim and scope claim. */
export async function createDevelopmentIssuer(config: Pick<JwtConfig, 'issuer' | 'audience' | 'clientsClaim' | 'scopeClaim'>): Promise<DevelopmentIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = `development-${randomUUID()}`;
  const jwks: JSONWebKeySet = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] };
  return {
    issuer: config.issuer,
    audience: config.audience,
    jwks,
    keys: createLocalJWKSet(jwks),
    async mint({ subject = 'developer', clients = ['demo'], scopes = [SCOPES.read, SCOPES.write], ttlSeconds = 3600 } = {}) {
      const issuedAt = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({ [config.clientsClaim]: [...clients], [config.scopeClaim]: scopes.join(' ') })
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
        .setIssuer(config.issuer)
        .setAudience(config.audience)
        .setSubject(subject)
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + ttlSeconds)
        .sign(privateKey);
      return { token, expiresAt: new Date((issuedAt + ttlSeconds) * 1000) };
    },
  };
}
