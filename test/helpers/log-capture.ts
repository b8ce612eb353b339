import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import type { LogLevel } from '../../src/config/config.js';
import { createLogger, type Logger } from '../../src/logger.js';

export type LogLine = Record<string, any>;

/**
 * One JSON log line, parsed strictly: a key that appears twice in one object (two stacked child
 * loggers setting the same field) throws. `JSON.parse` would silently keep the last, and log
 * shippers keep one or reject the line, so every test that reads the gateway's log checks it.
 */
export function parseLogLine(text: string): LogLine {
  const duplicate = duplicateKey(text);
  if (duplicate !== undefined) throw new Error(`log line has the key ${JSON.stringify(duplicate)} twice: ${text}`);
  return JSON.parse(text) as LogLine;
}

/** The first key that appears twice in one object of a JSON text, if any. */
function duplicateKey(text: string): string | undefined {
  // One set of keys per open object (undefined for an array); a string right after `{` or `,` inside an object is a key.
  const open: Array<Set<string> | undefined> = [];
  let expectingKey = false;
  for (let at = 0; at < text.length; at++) {
    const char = text[at];
    if (char === '"') {
      let end = at + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      if (expectingKey) {
        const key = JSON.parse(text.slice(at, end + 1)) as string;
        const keys = open.at(-1)!;
        if (keys.has(key)) return key;
        keys.add(key);
        expectingKey = false;
      }
      at = end;
    } else if (char === '{') {
      open.push(new Set());
      expectingKey = true;
    } else if (char === '[') {
      open.push(undefined);
    } else if (char === '}' || char === ']') {
      open.pop();
    } else if (char === ',') {
      expectingKey = open.at(-1) !== undefined;
    }
  }
  return undefined;
}

/** A real gateway logger whose lines are kept, parsed strictly, with an event per write. */
export function captureLogs(level: LogLevel = 'debug'): { logger: Logger; lines: LogLine[]; written: EventEmitter } {
  const lines: LogLine[] = [];
  const written = new EventEmitter();
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n')) if (text.trim() !== '') lines.push(parseLogLine(text));
      written.emit('line');
      done();
    },
  });
  return { logger: createLogger(level, sink), lines, written };
}
