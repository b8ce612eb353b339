import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/logger.js';

/** One line the gateway logged, as pino wrote it. */
export type LogLine = Record<string, unknown> & { level: number };

/**
 * The gateway's real logger (pino, with its redaction) writing to memory at `level`: pass
 * `logger` to `startGateway`, read `lines`. pino writes synchronously, so a line logged before an
 * answer was sent is there when the answer arrives.
 */
export function captureLogs(level: 'trace' | 'debug' | 'info' = 'debug'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const text of String(chunk).split('\n')) if (text.trim() !== '') lines.push(JSON.parse(text) as LogLine);
      done();
    },
  });
  return { logger: createLogger(level, sink), lines };
}
