import { inspect } from 'node:util';
import { badUserInput } from '../errors/gateway-error.js';

/** Longer Authorization values are refused: no real bearer token or signed header comes close. */
const MAX_CREDENTIAL_LENGTH = 8192;
/** Visible ASCII and spaces only: what an HTTP header value may carry (no CR/LF injection). */
const HEADER_VALUE = /^[\x20-\x7e]+$/;

/**
 * A caller's MyPreferences credential: the `Authorization` value the gateway forwards unchanged.
 *
 * The raw value is reachable only through {@link Credential.authorization}; printing, logging or
 * serialising a Credential shows `[credential]`, so an accidental `logger.info({ ctx })` cannot
 * leak it.
 */
export class Credential {
  readonly #authorization: string;

  private constructor(authorization: string) {
    this.#authorization = authorization;
  }

  /**
   * Builds a credential from whatever the transport carried; `null` when nothing usable was
   * supplied. A value that cannot be an HTTP header is a BAD_USER_INPUT, not a silent drop.
   */
  static from(value: unknown): Credential | null {
    if (typeof value !== 'string') return null;
    const trimmed = value.trim();
    if (trimmed === '') return null;
    if (trimmed.length > MAX_CREDENTIAL_LENGTH || !HEADER_VALUE.test(trimmed)) {
      throw badUserInput('The Authorization value is not a valid HTTP header value.', 'authorization');
    }
    return new Credential(trimmed);
  }

  /** The exact value to send upstream as `Authorization`. */
  get authorization(): string {
    return this.#authorization;
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
