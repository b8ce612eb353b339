import type { LookupAddress, LookupOptions } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { isIP, isIPv6 } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Agent, buildConnector } from 'undici';
import type { WebhooksConfig } from '../config/config.js';
import { type AddressKind, addressKind } from './addresses.js';

/**
 * Where the gateway may send a webhook (issue 28). A URL is https and its host resolves only to
 * public addresses (`./addresses.ts`), unless the operator lists the host in
 * `WEBHOOK_ALLOWED_HOSTS`, which may then be private and plain http. The check runs at
 * registration ({@link checkWebhookUrl}) and again at every connection
 * ({@link createWebhookDispatcher}), where the addresses checked are the ones connected to: a name
 * that resolves to a public address at registration and to a private one later (DNS rebinding)
 * is refused at delivery.
 */

/** What decides: the config's `webhooks` section. */
export type WebhookDestinationPolicy = Pick<WebhooksConfig, 'allowedHosts'>;

/** Why a destination is refused. */
export type WebhookDestinationRefusal =
  /** Not an absolute URL, too long, credentials or a fragment in it, port 0. */
  | 'INVALID_URL'
  /** Another scheme than https, for a host not allow-listed (http is allowed for those). */
  | 'NOT_HTTPS'
  /** The host resolves to nothing (or the lookup failed). */
  | 'UNRESOLVABLE'
  /** The host is, or resolves to, an address that is not public; `addressKind` says which kind. */
  | 'PRIVATE_ADDRESS';

/** A refused destination. The message is for the webhook's owner: it never names an address the host resolved to. */
export class WebhookDestinationError extends Error {
  override readonly name = 'WebhookDestinationError';

  constructor(
    readonly reason: WebhookDestinationRefusal,
    message: string,
    /** With `PRIVATE_ADDRESS`: the kind of the address refused, and the address (for logs). */
    readonly refused?: { kind: AddressKind; address: string },
  ) {
    super(message);
  }
}

/** The addresses `hostname` resolves to (all of them, as the system resolver answers). */
export type ResolveHost = (hostname: string) => Promise<readonly string[]>;

const resolveWithSystem: ResolveHost = async (hostname) => (await lookup(hostname, { all: true, order: 'verbatim' })).map((found) => found.address);

/** Longer URLs are refused: they are stored, signed over and logged. */
const MAX_URL_LENGTH = 2048;

/**
 * The URL a webhook may be registered with, as parsed: https (or http for an allow-listed host),
 * no credentials or fragment, and a host that is, or resolves only to, public addresses (every
 * address is checked: one that is not public refuses the URL). An allow-listed host is not
 * resolved: the operator vouches for it. Rejects with {@link WebhookDestinationError}.
 */
export async function checkWebhookUrl(url: string, policy: WebhookDestinationPolicy, resolve: ResolveHost = resolveWithSystem): Promise<URL> {
  const parsed = parseWebhookUrl(url);
  const target = { protocol: parsed.protocol, hostname: parsed.hostname, port: parsed.port };
  if (checkAllowListedOrHttps(target, policy)) return parsed;
  const literal = literalAddress(parsed.hostname);
  if (literal !== undefined) checkAddresses(parsed.hostname, [literal]);
  else checkAddresses(parsed.hostname, await resolveAll(parsed.hostname, resolve));
  return parsed;
}

/** `url` parsed, if it has the form of a webhook URL (the scheme is checked against the policy later). */
function parseWebhookUrl(url: string): URL {
  if (url.length > MAX_URL_LENGTH) throw new WebhookDestinationError('INVALID_URL', `must be at most ${MAX_URL_LENGTH} characters long`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new WebhookDestinationError('INVALID_URL', 'must be an absolute https URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new WebhookDestinationError('NOT_HTTPS', 'must be an https URL');
  // Credentials would be stored and logged with the URL; a signed request authenticates itself.
  if (parsed.username !== '' || parsed.password !== '') throw new WebhookDestinationError('INVALID_URL', 'must not contain credentials');
  // A fragment is never sent: a URL that has one does not say what the endpoint receives.
  if (parsed.href.includes('#')) throw new WebhookDestinationError('INVALID_URL', 'must not have a fragment');
  if (parsed.port === '0') throw new WebhookDestinationError('INVALID_URL', 'must not use port 0');
  return parsed;
}

/** What a connection is to: a URL's scheme, `hostname` (IPv6 in brackets or not) and port ('' for the scheme's default). */
interface Target {
  protocol: string;
  hostname: string;
  port: string | number;
}

/**
 * True when the target's host (or host and port) is allow-listed: nothing more to check. Else
 * refuses any scheme but https, and returns false: the addresses are to be checked.
 */
function checkAllowListedOrHttps({ protocol, hostname, port }: Target, policy: WebhookDestinationPolicy): boolean {
  const host = isIPv6(hostname) ? `[${hostname}]` : hostname;
  const effectivePort = port === '' || port === undefined ? (protocol === 'https:' ? 443 : 80) : Number(port);
  if (policy.allowedHosts.includes(host) || policy.allowedHosts.includes(`${host}:${effectivePort}`)) return true;
  if (protocol !== 'https:') {
    throw new WebhookDestinationError('NOT_HTTPS', 'must be an https URL (plain http only to a host listed in WEBHOOK_ALLOWED_HOSTS)');
  }
  return false;
}

/** The address a URL's hostname is, brackets removed, or undefined for a name. */
function literalAddress(hostname: string): string | undefined {
  const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  return isIP(bare) === 0 ? undefined : bare;
}

async function resolveAll(hostname: string, resolve: ResolveHost): Promise<readonly string[]> {
  let addresses: readonly string[];
  try {
    addresses = await resolve(hostname);
  } catch {
    addresses = [];
  }
  if (addresses.length === 0) throw new WebhookDestinationError('UNRESOLVABLE', `the host ${hostname} does not resolve`);
  return addresses;
}

/** Refuses when any of `addresses` is not public. */
function checkAddresses(hostname: string, addresses: readonly string[]): void {
  for (const address of addresses) {
    const kind = addressKind(address);
    if (kind === undefined) continue;
    const what = literalAddress(hostname) === undefined ? `the host ${hostname} resolves to` : 'the host is';
    throw new WebhookDestinationError(
      'PRIVATE_ADDRESS',
      `${what} a ${kind} address, which webhooks may not reach (unless the host is listed in WEBHOOK_ALLOWED_HOSTS)`,
      { kind, address },
    );
  }
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for `net.connect` that resolves with `resolve` and checks every address before the
 * socket sees one, so the address connected to is an address checked. It answers both forms net
 * asks for: one address, or all of them (`autoSelectFamily`, Happy Eyeballs).
 */
export function createCheckedLookup(resolve: ResolveHost): (hostname: string, options: LookupOptions, callback: LookupCallback) => void {
  return (hostname, options, callback) => {
    resolveAll(hostname, resolve)
      .then((addresses) => {
        checkAddresses(hostname, addresses);
        const found = addresses.map((address) => ({ address, family: isIP(address) })).filter(({ family }) => !options.family || family === options.family);
        if (found.length === 0) throw new WebhookDestinationError('UNRESOLVABLE', `the host ${hostname} has no IPv${options.family} address`);
        return found;
      })
      // Called once, outside the chain's catch: a throw inside net's callback is not a refusal.
      .then(
        (found) => (options.all ? callback(null, found) : callback(null, found[0]!.address, found[0]!.family)),
        (error: NodeJS.ErrnoException) => callback(error, ''),
      );
  };
}

export interface WebhookDispatcherOptions {
  /** The longest a connection (resolution and TLS handshake included) may take to open. */
  connectTimeoutMs: number;
  /** How a host is resolved at each connection. @default the system resolver (`dns.lookup`, all addresses) */
  resolve?: ResolveHost | undefined;
  /** Certificate authorities trusted instead of Node's own (a test's self-signed one, a private CA). @default Node's */
  ca?: ConnectionOptions['ca'];
}

/**
 * The undici dispatcher deliveries go through. Each new connection is checked as a registration
 * is (scheme against the allow list, then every address), the addresses from the one resolution
 * the socket then connects with; a refusal fails the request with {@link WebhookDestinationError}.
 * Redirects are never followed: undici 7 follows them only through its redirect interceptor,
 * which this dispatcher does not compose.
 */
export function createWebhookDispatcher(policy: WebhookDestinationPolicy, options: WebhookDispatcherOptions): Agent {
  const tls = options.ca === undefined ? {} : { ca: options.ca };
  const open = buildConnector({ timeout: options.connectTimeoutMs, ...tls });
  const checked = buildConnector({ timeout: options.connectTimeoutMs, lookup: createCheckedLookup(options.resolve ?? resolveWithSystem), ...tls });
  return new Agent({
    connect: (connection, callback) => {
      try {
        if (checkAllowListedOrHttps(connection, policy)) return open(connection, callback);
        // net.connect looks no literal address up: it is checked here.
        if (isIP(connection.hostname) !== 0) checkAddresses(connection.hostname, [connection.hostname]);
        return checked(connection, callback);
      } catch (error) {
        process.nextTick(callback, error as Error, null);
        return null;
      }
    },
  });
}
