import { createHmac, randomBytes } from 'node:crypto';

/** Turns a secret value (a credential) into a stable, non-reversible id for keys and logs. */
export type Fingerprinter = (value: string) => string;

/**
 * A keyed hash (HMAC-SHA256). Without the secret, a fingerprint cannot be checked against a
 * guessed credential, so it may appear in keys, logs and metrics. Replicas that must agree on
 * fingerprints share `secret`; a single process uses a random one.
 */
export function createFingerprinter(secret: string | Buffer = randomBytes(32)): Fingerprinter {
  return (value) => createHmac('sha256', secret).update(value).digest('base64url').slice(0, 22);
}
