import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';

export interface Frame {
  opcode: number;
  payload: Buffer;
}

export interface RawWebSocket {
  /** The client's TCP socket (its `bytesWritten` is everything sent, the upgrade request included). */
  socket: Socket;
  /** Sends one whole text frame, masked as a client must (with a zero key: the payload goes as is). */
  sendText(text: string): void;
  /** Sends a text frame's head declaring `length` payload bytes; the payload is the caller's to send, or not. */
  sendHead(length: number): void;
  /** The next graphql-ws message of one of `types` the server sends (text frames only). */
  nextMessage(...types: string[]): Promise<{ type: string; id?: string; payload?: any }>;
  /** The server's close frame, once it arrives. */
  closeFrame: Promise<{ code: number; reason: string }>;
  /** The TCP connection is gone (the server closed or cut it). */
  ended: Promise<void>;
}

/**
 * A graphql-ws connection spoken frame by frame over a plain socket, for clients no library would
 * be: one that never answers the server's close frame (this one never does) and goes on sending,
 * one that declares a frame larger than it sends. Frames the server sends are parsed as they
 * come; text frames are graphql-ws messages.
 */
export function openRawWebSocket(url: string, register: (dispose: () => unknown) => void): Promise<RawWebSocket> {
  const request = httpRequest(url.replace(/^ws/, 'http'), {
    headers: {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': randomBytes(16).toString('base64'),
      'sec-websocket-protocol': 'graphql-transport-ws',
    },
  });
  request.end();
  return new Promise((resolve, reject) => {
    request.once('error', reject);
    request.once('response', (response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
    request.once('upgrade', (_response, socket: Socket, head: Buffer) => {
      register(() => socket.destroy());
      socket.on('error', () => undefined); // a cut connection
      const messages: Array<{ type: string; id?: string; payload?: any }> = [];
      const waiters: Array<{ types: string[]; resolve: (message: (typeof messages)[number]) => void }> = [];
      let onClose: (close: { code: number; reason: string }) => void = () => undefined;
      const closeFrame = new Promise<{ code: number; reason: string }>((resolveClose) => (onClose = resolveClose));
      const ended = new Promise<void>((resolveEnd) => socket.once('close', () => resolveEnd()));
      const deliver = ({ opcode, payload }: Frame) => {
        if (opcode === 0x8) return onClose({ code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005, reason: payload.subarray(2).toString() });
        if (opcode !== 0x1) return;
        const message = JSON.parse(payload.toString()) as (typeof messages)[number];
        const waiter = waiters.find((candidate) => candidate.types.includes(message.type));
        if (waiter) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(message);
        } else messages.push(message);
      };
      let buffered = head;
      const parse = (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        for (;;) {
          const frame = takeFrame(buffered);
          if (!frame) return;
          buffered = buffered.subarray(frame.size);
          deliver(frame);
        }
      };
      socket.on('data', parse);
      parse(Buffer.alloc(0));
      resolve({
        socket,
        sendText: (text) => {
          const payload = Buffer.from(text);
          socket.write(Buffer.concat([frameHead(payload.length), payload]));
        },
        sendHead: (length) => socket.write(frameHead(length)),
        nextMessage: (...types) => {
          const queued = messages.find((message) => types.includes(message.type));
          if (queued) {
            messages.splice(messages.indexOf(queued), 1);
            return Promise.resolve(queued);
          }
          return new Promise((resolveMessage) => waiters.push({ types, resolve: resolveMessage }));
        },
        closeFrame,
        ended,
      });
    });
  });
}

/** The head of a final, masked text frame of `length` bytes, with a zero masking key. */
function frameHead(length: number): Buffer {
  if (length < 126) return Buffer.from([0x81, 0x80 | length, 0, 0, 0, 0]);
  if (length < 65_536) {
    const head = Buffer.from([0x81, 0x80 | 126, 0, 0, 0, 0, 0, 0]);
    head.writeUInt16BE(length, 2);
    return head;
  }
  const head = Buffer.alloc(14);
  head[0] = 0x81;
  head[1] = 0x80 | 127;
  head.writeBigUInt64BE(BigInt(length), 2);
  return head;
}

/** The first whole (unmasked, server-sent) frame in `buffer`, with its size, or undefined until it has all arrived. */
function takeFrame(buffer: Buffer): (Frame & { size: number }) | undefined {
  if (buffer.length < 2) return undefined;
  let length = buffer[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return undefined;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return undefined;
    length = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  if (buffer.length < offset + length) return undefined;
  return { opcode: buffer[0]! & 0x0f, payload: buffer.subarray(offset, offset + length), size: offset + length };
}
