import { inspect } from 'node:util';

/**
 * A secret value (an OAuth client secret, a service token) that will not print: `toString`,
 * `toJSON` and `util.inspect` show `[secret]`, so an accidental `logger.info({ account })` or an
 * error message built from it cannot leak it. The value is reachable only through `reveal()`,
 * which the few places that must send it call by name.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[secret]';
  }

  toJSON(): string {
    return '[secret]';
  }

  [inspect.custom](): string {
    return '[secret]';
  }
}
