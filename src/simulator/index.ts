/**
 * The built-in MyPreferences Bulk Import simulator: an HTTP server that follows
 * `docs/mypreferences-bulk-import.md` (routes, checks, lifecycle, errors) and its OAuth 2.0
 * client-credentials token endpoint, with fault injection and a request log for tests. It
 * imports nothing of the gateway but the shared contract.
 *
 * ```ts
 * const simulator = await startSimulator({ clock: { now: () => t } });
 * await fetch(`${simulator.baseUrl}Async/demo/Import`, { method: 'POST', headers: { authorization: 'Bearer demo-import-token' }, body: '{"Name":"x"}' });
 * const { clientId, clientSecret } = DEMO_OAUTH_CLIENT;
 * const grant = await fetch(simulator.tokenUrl, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }) });
 * const { access_token } = await grant.json(); // then `Authorization: Bearer ${access_token}`
 * await simulator.stop();
 * ```
 */
import { LIMITS, OAUTH, ROUTE_NAMES, type RouteName } from '../mypreferences-contract.js';
import { DEMO_ACCOUNT, resolveAccounts, type SimulatorAccount } from './accounts.js';
import { type Clock, systemClock } from './clock.js';
import { type FaultInjector, FaultQueue } from './faults.js';
import { deriveState } from './lifecycle.js';
import { OAuthTokenStore } from './oauth-tokens.js';
import type { RecordReceipts } from './receipts.js';
import { MemoryRequestLog, type RequestLog } from './request-log.js';
import { type SimulatorLog, SimulatorServer } from './server.js';
import { ImportStore } from './store.js';

export {
  DEMO_ACCOUNT,
  DEMO_OAUTH_CLIENT,
  type SimulatorAccount,
  type SimulatorAccountCredential,
  type SimulatorOAuthClient,
} from './accounts.js';
export type { Clock } from './clock.js';
export {
  type AfterFault,
  DEFAULT_RANDOM_FAILURE_STATUS,
  type Fault,
  type FaultInjector,
  type FaultMatch,
  type FaultOptions,
  type FaultRoute,
  type RandomFailures,
} from './faults.js';
export type { RecordReceipts } from './receipts.js';
export type { LoggedRequest, RequestLog } from './request-log.js';
export { SIMULATOR_ROUTES, type SimulatorRoute, TOKEN_ROUTE } from './routing.js';
export type { SimulatorLog } from './server.js';
export { ROUTE_NAMES, type RouteName };

/** Options of {@link startSimulator}; every one is optional. */
export interface SimulatorOptions {
  /** @default 0 (a free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Processing speed after the queue delay. @default 2500 (10,000 records take 4 s) */
  recordsPerSecond?: number;
  /** Time an executed import stays Queued before Processing. @default 500 */
  queueDelayMs?: number;
  /** @default LIMITS.accessTokenLifetimeMs (12 h) */
  accessTokenLifetimeMs?: number;
  /**
   * Lifetime of the OAuth bearer tokens the token endpoint issues, in whole seconds (their
   * `expires_in`); judged with `clock`. @default 3600
   */
  tokenTtlSeconds?: number;
  /** The source of time for expiry, quota and lifecycle. @default the wall clock */
  clock?: Clock;
  /** @default [DEMO_ACCOUNT] */
  accounts?: readonly SimulatorAccount[];
  /** Serve the `/__simulator/` control routes (see `control-routes.ts`). @default false */
  controlRoutes?: boolean;
  /**
   * Count, per import, how many times each record arrived over all Stage calls (see
   * {@link Simulator.recordReceipts}), so a test can prove every record reached the upstream
   * exactly once. Memory then grows with the distinct records staged, which is why it is off
   * by default (the simulator otherwise only counts records). @default false
   */
  recordReceipts?: boolean;
  /** Receives the simulator's own notices (never credentials, tokens or secrets). @default no logging */
  log?: SimulatorLog;
}

/** A running simulator. */
export interface Simulator {
  /** e.g. `http://127.0.0.1:43121/Profiles/`; always ends with `/Profiles/`. */
  readonly baseUrl: string;
  readonly port: number;
  /** The OAuth token endpoint, e.g. `http://127.0.0.1:43121/oauth2/token`: on the origin, not under `/Profiles/`. */
  readonly tokenUrl: string;
  /** OAuth tokens issued since start, expired and revoked ones included. */
  readonly tokensIssued: number;
  /**
   * Queue failures for upcoming requests (instead of the route or after it acted, for every
   * request or one client's or import's), or fail a share of them at random.
   */
  readonly faults: FaultInjector;
  /** Every request answered (or reset). */
  readonly requests: RequestLog;
  /**
   * Forces an import to Failed from the current clock time, counters frozen at that moment.
   * An import not yet executed fails too (nothing imported); a Completed or Failed one stays as it is.
   * Throws if the client has no import with this access token.
   */
  failImport(clientId: string, accessToken: number): void;
  /**
   * How many records client `clientId`'s import `accessToken` received over all accepted Stage
   * calls (`received`, its TotalRecordsReceived), how many distinct ones (by `ProfileId` when it
   * is a non-empty string, else by the record's canonical JSON text), and the first 100 of those
   * received more than once, in the order each was first received again, with their counts.
   * Records count once the Stage call was applied, even when a fault then lost its answer.
   * Undefined when the simulator was started without `recordReceipts` or has no such import;
   * an expired import still answers. Also `GET /__simulator/imports/{clientId}/{accessToken}/receipts`.
   */
  recordReceipts(clientId: string, accessToken: number): RecordReceipts | undefined;
  /**
   * Makes every OAuth token issued so far unusable (the API answers 401 to them, as to an expired
   * token), e.g. to test a token that expires mid-run. Tokens issued later work as usual.
   * @returns how many of them were still usable
   */
  expireTokens(): number;
  /** Closes the server, destroys every open socket and cancels pending delays. Idempotent. */
  stop(): Promise<void>;
}

/** Default processing speed: 10,000 records take 4 s. */
export const DEFAULT_RECORDS_PER_SECOND = 2500;
/** Default time spent Queued. */
export const DEFAULT_QUEUE_DELAY_MS = 500;
/** Default lifetime of an OAuth bearer token (DECIDED: the contract gives none). */
export const DEFAULT_TOKEN_TTL_SECONDS = 3600;

/**
 * Starts a simulator. Every option is checked first: an invalid one throws a `TypeError` or
 * `RangeError` naming it before anything listens.
 */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const {
    port = 0,
    host = '127.0.0.1',
    recordsPerSecond = DEFAULT_RECORDS_PER_SECOND,
    queueDelayMs = DEFAULT_QUEUE_DELAY_MS,
    accessTokenLifetimeMs = LIMITS.accessTokenLifetimeMs,
    tokenTtlSeconds = DEFAULT_TOKEN_TTL_SECONDS,
    clock = systemClock,
    accounts = [DEMO_ACCOUNT],
    controlRoutes = false,
    recordReceipts = false,
    log = () => {},
  } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError('port must be an integer from 0 to 65535');
  if (typeof host !== 'string' || host === '') throw new TypeError('host must be a non-empty string');
  if (!Number.isFinite(recordsPerSecond) || recordsPerSecond <= 0) throw new RangeError('recordsPerSecond must be a positive number');
  if (!Number.isFinite(queueDelayMs) || queueDelayMs < 0) throw new RangeError('queueDelayMs must be a number >= 0');
  if (!Number.isFinite(accessTokenLifetimeMs) || accessTokenLifetimeMs <= 0) {
    throw new RangeError('accessTokenLifetimeMs must be a positive number');
  }
  // Whole seconds: `expires_in` is an integer (RFC 6749 §5.1), and the token must die when it says.
  if (!Number.isSafeInteger(tokenTtlSeconds) || tokenTtlSeconds < 1) {
    throw new RangeError('tokenTtlSeconds must be a positive integer');
  }
  if (typeof clock?.now !== 'function') throw new TypeError('clock must have a now() method');
  if (typeof recordReceipts !== 'boolean') throw new TypeError('recordReceipts must be a boolean');

  const resolved = resolveAccounts(accounts);
  const store = new ImportStore(resolved, { tokenLifetimeMs: accessTokenLifetimeMs, recordReceipts });
  const tokens = new OAuthTokenStore(resolved.values(), tokenTtlSeconds);
  const faults = new FaultQueue();
  const requests = new MemoryRequestLog();
  const timing = { queueDelayMs, recordsPerSecond };
  const server = new SimulatorServer({ store, tokens, clock, timing, faults, requests, controlRoutes, log });
  const boundPort = await server.listen(port, host);
  // An IPv6 literal needs brackets in a URL.
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
  const baseUrl = `${origin}/Profiles/`;
  const tokenUrl = `${origin}${OAUTH.tokenPath}`;
  log('simulator listening', { baseUrl, tokenUrl, controlRoutes, recordReceipts });

  return {
    baseUrl,
    port: boundPort,
    tokenUrl,
    get tokensIssued(): number {
      return tokens.issued;
    },
    faults,
    requests,
    failImport(clientId: string, accessToken: number): void {
      const imp = store.import(accessToken);
      if (!imp || imp.clientId !== clientId) {
        throw new Error(`The simulator has no import ${accessToken} of client ${JSON.stringify(clientId)}`);
      }
      const now = clock.now();
      const { status } = deriveState(imp, now, timing);
      if (status !== 'Completed' && status !== 'Failed') store.fail(imp, now);
    },
    recordReceipts: (clientId: string, accessToken: number) => store.receipts(clientId, accessToken),
    expireTokens: () => tokens.revokeAll(clock.now()),
    stop: () => server.stop(),
  };
}
