import { type Logger, pino } from 'pino';
import type { LogLevel } from './config/config.js';

export type { Logger };

/**
 * Paths pino blanks out wherever they appear in a log record. Credentials are kept out of log
 * calls in the first place (see `Credential`); this is the second line of defence.
 * (`headers.authorization` needs no path of its own: `*.authorization` covers it.)
 * `test/unit/log-redaction.test.ts` has a record shape that only each path catches.
 */
const REDACTED_PATHS = [
  'authorization',
  'Authorization',
  '*.authorization',
  '*.Authorization',
  '*.headers.authorization',
  'connectionParams',
  '*.connectionParams',
];

/** The gateway's JSON logger. */
export function createLogger(level: LogLevel, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, base: { service: 'bulk-import-gateway' }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    destination as pino.DestinationStream | undefined,
  );
}

/** A logger that writes nothing, for tests and embedded uses. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
