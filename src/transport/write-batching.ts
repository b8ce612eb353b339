import type { Duplex } from 'node:stream';

/**
 * Lets a socket's writes of one turn of the event loop go out together, when there are several.
 *
 * A fan-out hands one result to thousands of subscribers in the same turn. A connection that
 * carries one of them (a browser tab) gets one frame: it is written at once, as any write is. A
 * connection that multiplexes many gets many: from its second write in a turn on, its socket is
 * corked, and uncorked at the next turn, so they leave in one system call rather than one each.
 * (Corking every socket at its first write instead would hold every browser tab's frame until
 * the whole slice of the fan-out is done.)
 */
export class WriteBatching {
  /** Counts turns in which something was written. */
  #turn = 0;
  #turnEndScheduled = false;
  readonly #corked = new Set<Duplex>();

  /** What a writer to `socket` calls before each of its writes. */
  beforeEachWriteTo(socket: Duplex): () => void {
    let lastWriteTurn = -1;
    return () => {
      if (lastWriteTurn === this.#turn) this.#cork(socket);
      else lastWriteTurn = this.#turn;
      if (this.#turnEndScheduled) return;
      this.#turnEndScheduled = true;
      setImmediate(this.#endTurn);
    };
  }

  #cork(socket: Duplex): void {
    if (this.#corked.has(socket)) return;
    socket.cork();
    this.#corked.add(socket);
  }

  readonly #endTurn = (): void => {
    this.#turn++;
    this.#turnEndScheduled = false;
    const sockets = [...this.#corked];
    this.#corked.clear();
    for (const socket of sockets) socket.uncork();
  };
}
