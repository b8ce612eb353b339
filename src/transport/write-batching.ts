import type { Duplex } from 'node:stream';

/**
 * Holds a socket's writes until the next turn of the event loop and then sends them in one go.
 *
 * A fan-out hands one result to thousands of subscribers in the same turn (their sends run as
 * microtasks); without batching each message is its own write system call. Corking a socket at
 * its first write of a turn and uncorking every corked socket at the next turn makes that one
 * write per socket, whichever subscribers on it the result reached.
 */
export class WriteBatching {
  readonly #corked = new Set<Duplex>();

  /** Call before writing to `socket`: its writes of this turn are flushed together at the next. */
  beforeWrite(socket: Duplex): void {
    if (this.#corked.has(socket)) return;
    socket.cork();
    this.#corked.add(socket);
    if (this.#corked.size === 1) setImmediate(() => this.#flush());
  }

  #flush(): void {
    const sockets = [...this.#corked];
    this.#corked.clear();
    for (const socket of sockets) socket.uncork();
  }
}
