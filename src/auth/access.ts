import { ForwardedCredential } from '../credentials/credential.js';
import type { Fingerprinter } from '../credentials/fingerprint.js';
import type { ServiceAccounts } from '../credentials/service-token.js';
import type { UpstreamCredential } from '../credentials/upstream-credential.js';
import { GatewayError } from '../errors/gateway-error.js';
import { isUpstreamAuthorizationForm } from '../mypreferences-contract.js';
import { grantsClient, grantsKey, type Permission, SCOPES, type VerifiedCaller } from './caller.js';
import type { VerifyToken } from './jwt-verifier.js';

/**
 * What one operation's caller may do, decided once per request (or per WebSocket connection)
 * and asked by every resolver before it calls upstream.
 */
export interface Access {
  /** Who calls, for audit lines and logs: the JWT's `sub`, or the forwarded credential's fingerprint id. Never a secret. */
  readonly subject: string | undefined;
  /** When the caller's token stops being accepted (jwt mode), in ms since the epoch. */
  readonly expiresAtMs: number | undefined;
  /**
   * What a subscription's results may depend on besides its document and variables, so that
   * identical subscriptions of callers with the same key share one execution. Undefined when the
   * caller is not authenticated (nothing is shared).
   */
  readonly sharingKey: string | undefined;
  /** Why the caller is not authenticated (no credential, a token that does not verify); undefined when it is. */
  readonly refusal: GatewayError | undefined;
  /**
   * Why the caller may send {@link RESTRICTED_MAX_BODY_BYTES} at most (an HTTP body, a WebSocket
   * message): it is not authenticated (the {@link refusal}), or its verified token grants it
   * nothing of this API (no scope of it, or no clientId), so no operation of it could reach the
   * upstream. Undefined when it may send up to the request limit (passthrough: any credential;
   * MyPreferences decides what it may do).
   */
  readonly restriction: GatewayError | undefined;
  /**
   * The credential to call upstream with on `clientId`, once the caller is known to hold
   * `permission` there. Throws UNAUTHENTICATED or FORBIDDEN (with `reason`) otherwise, before any
   * upstream call.
   */
  credentialFor(clientId: string, permission: Permission): UpstreamCredential;
  /**
   * What of the gateway's imports registry the caller may list (`imports`), asked before the
   * query: the clientIds (`clientId`, or every one granted when omitted) and, in passthrough mode,
   * the credential whose imports alone it sees. Throws as {@link credentialFor} does for `read`.
   */
  readableImports(clientId: string | undefined): ReadableImports;
}

/** The part of the registry a caller may read. */
export interface ReadableImports {
  /** `'any'`: every clientId (passthrough, or a token granting `*`); otherwise exactly these (none: an empty list). */
  clientIds: 'any' | readonly string[];
  /** Passthrough: only imports touched with the credential of this fingerprint (its id). */
  credentialFingerprint: string | undefined;
}

/**
 * The most a restricted caller (see {@link Access.restriction}) may send in one body or message:
 * room for a small document (introspection, `_service { sdl }`, anything whose fields answer
 * UNAUTHENTICATED or FORBIDDEN themselves), never for a large one.
 */
export const RESTRICTED_MAX_BODY_BYTES = 64 * 1024;

/** Builds the Access of a request from its `Authorization` value (undefined when none was sent). */
export type Authenticate = (authorization: string | undefined) => Promise<Access>;

/**
 * Passthrough mode: the caller's MyPreferences credential is forwarded; MyPreferences decides.
 * A value of a form MyPreferences never accepts (`isUpstreamAuthorizationForm`) is refused here,
 * before any upstream call, so that every field — `_service` too, which calls nothing upstream —
 * requires the same credential.
 */
export function passthroughAuthentication(fingerprint: Fingerprinter): Authenticate {
  return async (authorization) => {
    let credential: ForwardedCredential | null;
    try {
      credential = ForwardedCredential.from(authorization, fingerprint);
    } catch (error) {
      return refused(error as GatewayError);
    }
    if (!credential) {
      return refused(
        new GatewayError(
          'UNAUTHENTICATED',
          'No MyPreferences credential was supplied: send it as the Authorization header (or as connectionParams.authorization over WebSocket).',
        ),
      );
    }
    // from() has taken it, so it is a string; trimmed as from() keeps it.
    if (!isUpstreamAuthorizationForm((authorization as string).trim())) {
      return refused(
        new GatewayError(
          'UNAUTHENTICATED',
          'The Authorization value is not a MyPreferences credential: "Bearer <token>" or a PNAUTHINFO3-HMAC-SHA256 signed header.',
          {
            reason: 'MALFORMED_CREDENTIAL',
          },
        ),
      );
    }
    return {
      subject: credential.id,
      expiresAtMs: undefined,
      sharingKey: credential.id,
      refusal: undefined,
      restriction: undefined,
      credentialFor: () => credential,
      readableImports: (clientId) => ({ clientIds: clientId === undefined ? 'any' : [clientId], credentialFingerprint: credential.id }),
    };
  };
}

/**
 * jwt mode: the caller's company JWT is verified; its grants decide, and the gateway's service
 * account for the clientId is what MyPreferences sees.
 */
export function jwtAuthentication(verify: VerifyToken, serviceAccounts: ServiceAccounts): Authenticate {
  return async (authorization) => {
    const token = bearerToken(authorization);
    if (token instanceof GatewayError) return refused(token);
    let caller: VerifiedCaller;
    try {
      caller = await verify(token);
    } catch (error) {
      return refused(error as GatewayError);
    }
    return {
      subject: caller.subject,
      expiresAtMs: caller.expiresAtMs,
      sharingKey: grantsKey(caller),
      refusal: undefined,
      restriction: grantsNothing(caller),
      credentialFor(clientId, permission) {
        if (!caller.scopes.has(SCOPES[permission])) {
          throw new GatewayError('FORBIDDEN', `The token lacks the ${SCOPES[permission]} scope this operation needs.`, { reason: 'MISSING_SCOPE' });
        }
        if (!grantsClient(caller, clientId)) {
          throw new GatewayError('FORBIDDEN', 'The token does not grant access to this clientId.', { reason: 'CLIENT_NOT_GRANTED' });
        }
        const credential = serviceAccounts.credentialFor(clientId);
        if (!credential) {
          throw new GatewayError('FORBIDDEN', 'The gateway has no MyPreferences service account for this clientId.', { reason: 'NO_SERVICE_ACCOUNT' });
        }
        return credential;
      },
      readableImports(clientId) {
        if (!caller.scopes.has(SCOPES.read)) {
          throw new GatewayError('FORBIDDEN', `The token lacks the ${SCOPES.read} scope this operation needs.`, { reason: 'MISSING_SCOPE' });
        }
        if (clientId !== undefined) {
          if (!grantsClient(caller, clientId)) {
            throw new GatewayError('FORBIDDEN', 'The token does not grant access to this clientId.', { reason: 'CLIENT_NOT_GRANTED' });
          }
          return { clientIds: [clientId], credentialFingerprint: undefined };
        }
        return { clientIds: caller.clients === '*' ? 'any' : [...caller.clients], credentialFingerprint: undefined };
      },
    };
  };
}

/**
 * Why a verified caller may do nothing of this API — no scope of it, or no clientId — or undefined
 * when it holds both (what it holds is checked per operation, in `credentialFor`).
 */
function grantsNothing(caller: VerifiedCaller): GatewayError | undefined {
  const scopes = Object.values(SCOPES) as string[];
  if (!scopes.some((scope) => caller.scopes.has(scope))) {
    return new GatewayError('FORBIDDEN', `The token grants no scope of this API (${scopes.join(', ')}).`, { reason: 'MISSING_SCOPE' });
  }
  if (caller.clients !== '*' && caller.clients.size === 0) {
    return new GatewayError('FORBIDDEN', 'The token grants no clientId.', { reason: 'CLIENT_NOT_GRANTED' });
  }
  return undefined;
}

/** Longer values are refused unread: no company JWT comes close. */
const MAX_TOKEN_LENGTH = 16 * 1024;

function bearerToken(authorization: string | undefined): string | GatewayError {
  const value = authorization?.trim();
  if (!value) {
    return new GatewayError(
      'UNAUTHENTICATED',
      'No token was supplied: send "Authorization: Bearer <JWT>" (or connectionParams.authorization over WebSocket).',
      {
        reason: 'MISSING_TOKEN',
      },
    );
  }
  const match = /^Bearer +([\x21-\x7e]+)$/i.exec(value);
  if (!match || value.length > MAX_TOKEN_LENGTH) {
    return new GatewayError('UNAUTHENTICATED', 'The Authorization value is not "Bearer <JWT>".', { reason: 'INVALID_TOKEN' });
  }
  return match[1]!;
}

/** An Access whose every use fails with `error` (so operations that need no credential still run). */
function refused(error: GatewayError): Access {
  return {
    subject: undefined,
    expiresAtMs: undefined,
    sharingKey: undefined,
    refusal: error,
    restriction: error,
    credentialFor() {
      throw error;
    },
    readableImports() {
      throw error;
    },
  };
}
