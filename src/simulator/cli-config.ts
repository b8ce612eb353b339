/**
 * The standalone simulator's environment variables, read and checked in one place.
 *
 * | Variable | Default | Meaning |
 * |---|---|---|
 * | `SIMULATOR_PORT` | 4010 | port to listen on (0: any free port) |
 * | `SIMULATOR_HOST` | 127.0.0.1 | interface to listen on |
 * | `SIMULATOR_RECORDS_PER_SECOND` | 2500 | processing speed of executed imports |
 * | `SIMULATOR_CONTROL_ROUTES` | false | `true`/`1` serves the `/__simulator/` control routes |
 * | `SIMULATOR_TOKEN_TTL_S` | 3600 | lifetime in seconds of the OAuth bearer tokens (`expires_in`) |
 * | `SIMULATOR_RECORD_RECEIPTS` | false | `true`/`1` counts each import's records per identity (`recordReceipts`; memory grows with distinct records); read them at `GET /__simulator/imports/{clientId}/{accessToken}/receipts` |
 */
import type { SimulatorOptions } from './index.js';

/** An environment variable with an unusable value. */
export class SimulatorEnvError extends Error {
  override readonly name = 'SimulatorEnvError';
  readonly code = 'SIMULATOR_INVALID_ENV';
  readonly variable: string;

  constructor(variable: string, message: string) {
    super(`${variable} ${message}`);
    this.variable = variable;
  }
}

/** The CLI's default port. */
const DEFAULT_CLI_PORT = 4010;

/** Reads the simulator's variables from `env`; throws {@link SimulatorEnvError} naming the first bad one. */
export function readSimulatorEnv(env: Readonly<Record<string, string | undefined>>): SimulatorOptions {
  const options: SimulatorOptions = { port: DEFAULT_CLI_PORT, host: '127.0.0.1' };

  const port = nonEmpty(env['SIMULATOR_PORT']);
  if (port !== undefined) {
    if (!/^\d+$/.test(port) || Number(port) > 65535) {
      throw new SimulatorEnvError('SIMULATOR_PORT', `must be an integer from 0 to 65535, got ${JSON.stringify(port)}`);
    }
    options.port = Number(port);
  }

  const host = nonEmpty(env['SIMULATOR_HOST']);
  if (host !== undefined) options.host = host;

  const speed = nonEmpty(env['SIMULATOR_RECORDS_PER_SECOND']);
  if (speed !== undefined) {
    const value = Number(speed);
    if (!Number.isFinite(value) || value <= 0) {
      throw new SimulatorEnvError('SIMULATOR_RECORDS_PER_SECOND', `must be a positive number, got ${JSON.stringify(speed)}`);
    }
    options.recordsPerSecond = value;
  }

  const ttl = nonEmpty(env['SIMULATOR_TOKEN_TTL_S']);
  if (ttl !== undefined) {
    // Digits only: `expires_in` is a whole number of seconds, and `1e3` or `0x10` are typos here.
    if (!/^\d+$/.test(ttl) || !Number.isSafeInteger(Number(ttl)) || Number(ttl) < 1) {
      throw new SimulatorEnvError('SIMULATOR_TOKEN_TTL_S', `must be a positive integer number of seconds, got ${JSON.stringify(ttl)}`);
    }
    options.tokenTtlSeconds = Number(ttl);
  }

  options.controlRoutes = flag(env, 'SIMULATOR_CONTROL_ROUTES') ?? false;
  options.recordReceipts = flag(env, 'SIMULATOR_RECORD_RECEIPTS') ?? false;
  return options;
}

/** A boolean variable: `true`/`1` or `false`/`0`, any case; undefined when unset or blank. */
function flag(env: Readonly<Record<string, string | undefined>>, variable: string): boolean | undefined {
  const value = nonEmpty(env[variable])?.toLowerCase();
  if (value === undefined) return undefined;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new SimulatorEnvError(variable, `must be true, 1, false or 0, got ${JSON.stringify(value)}`);
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === '' ? undefined : trimmed;
}
