import { createHmac, randomBytes } from 'node:crypto';
import type { Credential } from './credential.js';

/** Turns a credential into a stable, non-reversible id for keys and logs. */
export type Fingerprinter = (credential: Credential) => string;

/**
 * A keyed hash (HMAC-SHA256) of the Authorization value. Without the secret, a fingerprint
 * cannot be checked against a guessed credential, so it may appear in keys, logs and metrics.
 * Replicas that must agree on fingerprints share `secret`; a single process uses a random one.
 */
export function createFingerprinter(secret: string | Buffer = randomBytes(32)): Fingerprinter {
  return (credential) => createHmac('sha256', secret).update(credential.authorization).digest('base64url').slice(0, 22);
}
