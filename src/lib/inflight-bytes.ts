/**
 * A cap on the bytes of requests being read and run at once, across every transport that takes
 * them (HTTP bodies and WebSocket messages share one): memory stays bounded however many callers
 * upload together.
 */
export class InflightBytes {
  #taken = 0;

  constructor(readonly max: number) {}

  /**
   * Takes `bytes` when they fit under the cap, and returns their release (calling it more than
   * once releases them once); undefined when they do not fit, and nothing is taken.
   */
  tryTake(bytes: number): (() => void) | undefined {
    if (this.#taken + bytes > this.max) return undefined;
    this.#taken += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#taken -= bytes;
    };
  }
}
