import { readFileSync } from 'node:fs';
import { Secret } from '../credentials/secret.js';
import type { ServiceAccount } from '../credentials/service-account.js';
import { ConfigError } from './config-error.js';
import type { SettingName } from './settings.js';

/**
 * The gateway's own MyPreferences credentials (jwt mode): one OAuth 2.0 client-credentials
 * account per MyPreferences clientId, read from the JSON file `MYPREFERENCES_ACCOUNTS_FILE`:
 *
 * ```json
 * { "acme": { "tokenUrl": "https://…/oauth2/token", "clientId": "<OAuth client id>",
 *             "clientSecret": "…", "scope": "acme/ApiUser", "auth": "basic" } }
 * ```
 *
 * `clientSecretEnv: "NAME"` instead of `clientSecret` reads the secret from that environment
 * variable, so the file itself can be committed to a deployment repository (`NAMED_VARIABLES` in
 * `./settings.ts` documents it).
 */
const VARIABLE: SettingName = 'MYPREFERENCES_ACCOUNTS_FILE';
const ENTRY_FIELDS = new Set(['tokenUrl', 'clientId', 'clientSecret', 'clientSecretEnv', 'scope', 'auth']);

/**
 * Reads and checks the accounts file. Every problem throws a {@link ConfigError} naming the
 * variable and the entry, never a secret's value.
 */
export function readServiceAccounts(path: string, env: Readonly<Record<string, string | undefined>>): ReadonlyMap<string, ServiceAccount> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const problem = error instanceof SyntaxError ? 'is not valid JSON' : 'cannot be read';
    throw new ConfigError(VARIABLE, `names a file that ${problem} (${path})`);
  }
  if (!isObject(json)) throw new ConfigError(VARIABLE, 'must contain a JSON object keyed by MyPreferences clientId');
  const accounts = new Map<string, ServiceAccount>();
  for (const [clientId, entry] of Object.entries(json)) {
    accounts.set(clientId, readEntry(clientId, entry, env));
  }
  return accounts;
}

function readEntry(clientId: string, entry: unknown, env: Readonly<Record<string, string | undefined>>): ServiceAccount {
  const fail = (problem: string): never => {
    throw new ConfigError(VARIABLE, `entry ${JSON.stringify(clientId)}: ${problem}`);
  };
  if (clientId === '' || clientId === '.' || clientId === '..' || clientId.length > 200) fail('is not a usable MyPreferences clientId');
  if (!isObject(entry)) return fail('must be an object');
  const unknown = Object.keys(entry).filter((field) => !ENTRY_FIELDS.has(field));
  if (unknown.length > 0) fail(`has unknown field(s) ${unknown.join(', ')}`);

  const text = (field: string): string => {
    const value = entry[field];
    if (typeof value !== 'string' || value.trim() === '') return fail(`${field} must be a non-empty string`);
    return value.trim();
  };

  let tokenUrl: URL;
  try {
    tokenUrl = new URL(text('tokenUrl'));
  } catch {
    return fail('tokenUrl must be an absolute URL');
  }
  if (tokenUrl.protocol !== 'https:' && tokenUrl.protocol !== 'http:') fail('tokenUrl must be an http or https URL');
  if (tokenUrl.username || tokenUrl.password) fail('tokenUrl must not contain credentials');

  const hasSecret = entry['clientSecret'] !== undefined;
  const hasSecretEnv = entry['clientSecretEnv'] !== undefined;
  if (hasSecret === hasSecretEnv) fail('needs exactly one of clientSecret and clientSecretEnv');
  let secret: string;
  if (hasSecret) {
    secret = text('clientSecret');
  } else {
    const name = text('clientSecretEnv');
    const value = env[name]?.trim();
    if (!value) return fail(`clientSecretEnv names ${name}, which is not set`);
    secret = value;
  }

  const auth = entry['auth'] ?? 'basic';
  if (auth !== 'basic' && auth !== 'body') fail('auth must be "basic" or "body"');

  return {
    clientId,
    tokenUrl,
    oauthClientId: text('clientId'),
    clientSecret: new Secret(secret),
    scope: text('scope'),
    auth: auth as 'basic' | 'body',
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
