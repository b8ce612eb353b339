import { type Authenticate, jwtAuthentication, passthroughAuthentication } from '../auth/access.js';
import type { DevelopmentIssuer } from '../auth/development-issuer.js';
import { createJwtVerifier, remoteKeys } from '../auth/jwt-verifier.js';
import type { Config } from '../config/config.js';
import { createFingerprinter } from '../credentials/fingerprint.js';
import { type RequestToken, ServiceAccounts } from '../credentials/service-token.js';
import type { UpstreamCredential } from '../credentials/upstream-credential.js';
import type { Logger } from '../logger.js';

export interface AuthenticationOptions {
  config: Pick<Config, 'auth' | 'status'>;
  /** Needed in jwt mode without `AUTH_JWKS_URL` (zero config): its keys verify callers' tokens. */
  developmentIssuer: DevelopmentIssuer | undefined;
  /** How service tokens are fetched (the upstream client's, within its budget). */
  requestServiceToken: RequestToken;
  logger: Logger;
}

export interface Authentication {
  authenticate: Authenticate;
  /**
   * The credential the gateway itself holds for a clientId, for work no caller is present for
   * (resuming watches): jwt mode's service account; never any in passthrough mode, whose
   * credentials are the callers' and are kept nowhere.
   */
  serviceCredentialFor: (clientId: string) => UpstreamCredential | undefined;
}

/**
 * How callers are authenticated (`AUTH_MODE`): their forwarded MyPreferences credential
 * (passthrough), or their company JWT with the gateway's service accounts upstream (jwt).
 */
export function createAuthentication(options: AuthenticationOptions): Authentication {
  const { auth, status } = options.config;
  if (auth.mode === 'passthrough') {
    return { authenticate: passthroughAuthentication(createFingerprinter(status.fingerprintSecret)), serviceCredentialFor: () => undefined };
  }
  const { jwksUrl } = auth.jwt;
  const logger = options.logger.child({ component: 'auth' });
  const keys = jwksUrl ? remoteKeys({ ...auth.jwt, jwksUrl }, logger) : options.developmentIssuer?.keys;
  if (!keys) throw new Error('jwt mode without AUTH_JWKS_URL needs the development issuer (zero config only)');
  const verify = createJwtVerifier(auth.jwt, keys, logger);
  const serviceAccounts = new ServiceAccounts(auth.serviceAccounts, {
    requestToken: options.requestServiceToken,
    now: Date.now,
    random: Math.random,
  });
  return { authenticate: jwtAuthentication(verify, serviceAccounts), serviceCredentialFor: (clientId) => serviceAccounts.credentialFor(clientId) };
}
