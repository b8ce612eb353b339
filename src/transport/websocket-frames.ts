import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { PayloadSink } from './pushed-subscriber.js';
import type { WriteBatching } from './write-batching.js';

/**
 * How much a connection may have buffered (ws's `bufferedAmount`: written, not yet taken by the
 * kernel) before its operations' results are held instead of written. Room for one state of a
 * hundred operations multiplexed on one connection, which the write batching holds until the
 * next turn; a connection that is not read keeps no more than this and one result per operation.
 */
const SEND_BUFFER_LIMIT_BYTES = 64 * 1024;

/**
 * What a WebSocket connection sends: graphql-ws's messages, and the `next` frames of its pushed
 * subscribers (`sinkFor`), written straight to the socket.
 *
 * A frame is the payload text all subscribers of a shared execution share, with this operation's
 * id spliced in: `{"id":…,"type":"next","payload":<text>}`, the message graphql-ws would have
 * built. While the connection's buffer is over {@link SEND_BUFFER_LIMIT_BYTES}, each operation's
 * newest payload is held (latest wins) and written once the buffer has drained: the write that
 * crossed the limit says when, through its callback (ws's public `send`).
 */
export class WebSocketFrames {
  readonly #socket: WebSocket;
  readonly #beforeWrite: () => void;
  /** Operations holding a payload until the buffer drains, in the order they were held. */
  readonly #holding = new Set<OperationFrames>();
  #congested = false;

  /** @param tcp the socket under `socket`, for the write batching; without it, each write goes alone. */
  constructor(socket: WebSocket, tcp: Duplex | undefined, batching: WriteBatching) {
    this.#socket = socket;
    this.#beforeWrite = tcp ? batching.beforeEachWriteTo(tcp) : () => undefined;
  }

  /** Sends one of graphql-ws's messages; resolves once it is written (graphql-ws waits for that). */
  send(data: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.#socket.readyState !== this.#socket.OPEN) return resolve();
      this.#beforeWrite();
      this.#socket.send(data, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** Where operation `id`'s results are written. */
  sinkFor(id: string): OperationFrames {
    return new OperationFrames(this, id);
  }

  /** @internal for OperationFrames */
  offer(operation: OperationFrames, payload: string): void {
    if (this.#socket.readyState !== this.#socket.OPEN) return;
    if (this.#congested) {
      operation.hold(payload);
      this.#holding.add(operation);
    } else {
      this.#write(operation.frame(payload));
    }
  }

  /** @internal for OperationFrames: writes what `operation` holds now, congested or not. */
  release(operation: OperationFrames): void {
    this.#holding.delete(operation);
    const held = operation.take();
    if (held !== undefined && this.#socket.readyState === this.#socket.OPEN) this.#write(operation.frame(held));
  }

  /** @internal for OperationFrames */
  forget(operation: OperationFrames): void {
    this.#holding.delete(operation);
    operation.take();
  }

  #write(frame: string): void {
    this.#beforeWrite();
    if (this.#socket.bufferedAmount + frame.length <= SEND_BUFFER_LIMIT_BYTES) {
      this.#socket.send(frame);
    } else {
      this.#congested = true;
      this.#socket.send(frame, this.#drained);
    }
  }

  /** The write that crossed the limit has reached the kernel, and all before it: what is held goes out. */
  readonly #drained = (): void => {
    this.#congested = false;
    for (const operation of this.#holding) {
      if (this.#congested) return;
      this.release(operation);
    }
  };
}

/** One operation's {@link PayloadSink} on its connection. */
export class OperationFrames implements PayloadSink {
  readonly #connection: WebSocketFrames;
  /** The frame up to its payload; graphql-ws's field order. */
  readonly #head: string;
  #held: string | undefined;
  #coalesced = 0;
  #subscriber: AsyncIterableIterator<never> | undefined;

  constructor(connection: WebSocketFrames, id: string) {
    this.#connection = connection;
    this.#head = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
  }

  get coalesced(): number {
    return this.#coalesced;
  }

  /** The subscriber writing here, once the operation has joined a shared execution. */
  get subscriber(): AsyncIterableIterator<never> | undefined {
    return this.#subscriber;
  }

  attach(subscriber: AsyncIterableIterator<never>): void {
    this.#subscriber = subscriber;
  }

  frame(payload: string): string {
    return `${this.#head}${payload}}`;
  }

  hold(payload: string): void {
    if (this.#held !== undefined) this.#coalesced++;
    this.#held = payload;
  }

  take(): string | undefined {
    const held = this.#held;
    this.#held = undefined;
    return held;
  }

  write(payload: string): void {
    this.#connection.offer(this, payload);
  }

  flush(): void {
    this.#connection.release(this);
  }

  drop(): void {
    this.#connection.forget(this);
  }
}
