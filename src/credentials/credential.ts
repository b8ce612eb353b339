import { inspect } from 'node:util';
import { badUserInput } from '../errors/gateway-error.js';
import type { Fingerprinter } from './fingerprint.js';
import type { UpstreamCredential } from './upstream-credential.js';

/** Longer Authorization values are refused: no real bearer token or signed header comes close. */
const MAX_CREDENTIAL_LENGTH = 8192;
/** Visible ASCII and spaces only: what an HTTP header value may carry (no CR/LF injection). */
const HEADER_VALUE = /^[\x20-\x7e]+$/;

/**
 * A caller's MyPreferences credential (passthrough mode): the `Authorization` value the gateway
 * forwards unchanged.
 *
 * The raw value is reachable only through {@link ForwardedCredential.authorization}; printing,
 * logging or serialising one shows `[credential]`, so an accidental `logger.info({ ctx })` cannot
 * leak it. Its `id` is a keyed hash of the value, so two callers with different credentials never
 * share a poller.
 */
export class ForwardedCredential implements UpstreamCredential {
  readonly id: string;
  readonly #authorization: string;

  private constructor(authorization: string, fingerprint: Fingerprinter) {
    this.#authorization = authorization;
    this.id = `credential:${fingerprint(authorization)}`;
  }

  /**
   * Builds a credential from whatever the transport carried; `null` when nothing usable was
   * supplied. A value that cannot be an HTTP header is a BAD_USER_INPUT, not a silent drop.
   */
  static from(value: unknown, fingerprint: Fingerprinter): ForwardedCredential | null {
    if (typeof value !== 'string') return null;
    const trimmed = value.trim();
    if (trimmed === '') return null;
    if (trimmed.length > MAX_CREDENTIAL_LENGTH || !HEADER_VALUE.test(trimmed)) {
      throw badUserInput('The Authorization value is not a valid HTTP header value.', 'authorization');
    }
    return new ForwardedCredential(trimmed, fingerprint);
  }

  authorization(): Promise<string> {
    return Promise.resolve(this.#authorization);
  }

  /** The caller's own credential: a retry with the same value would be refused again. */
  rejected(): boolean {
    return false;
  }

  toString(): string {
    return '[credential]';
  }

  toJSON(): string {
    return '[credential]';
  }

  [inspect.custom](): string {
    return '[credential]';
  }
}
