import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CryptoKey, exportJWK, exportSPKI, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import type { Simulator } from '../../src/simulator/index.js';
import { DEMO_ACCOUNT } from '../../src/simulator/index.js';

const ISSUER = 'https://id.example.test/';
const AUDIENCE = 'bulk-import-gateway';
export const READ = 'bulk-import:read';
export const WRITE = 'bulk-import:write';

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

interface MintOptions {
  /** Claims merged over the defaults (sub, clients `['demo']`, both scopes, exp in 10 minutes); `undefined` removes one. */
  claims?: Record<string, unknown>;
  /** Header `kid` (default: the current key's). */
  kid?: string;
  /** Sign with a key the JWKS does not publish. */
  foreignKey?: boolean;
}

/** How the JWKS endpoint answers: normally, with a status (a failing issuer), or not at all until released. */
export type JwksBehaviour = { answer: 'keys' } | { answer: 'status'; status: number } | { answer: 'hang' };

export interface IdentityProvider {
  jwksUrl: string;
  /** JWKS requests the gateway made. */
  readonly jwksFetches: number;
  /** When each JWKS request arrived (`Date.now()`). */
  readonly jwksFetchTimes: readonly number[];
  /** JWKS requests received and not answered yet. */
  readonly jwksInFlight: number;
  /** The most JWKS requests that were ever in flight at once. */
  readonly maxJwksInFlight: number;
  /** Sets how later JWKS requests are answered (held ones stay held until `releaseHeld`). */
  setJwks(behaviour: JwksBehaviour): void;
  /** Answers every held JWKS request with the current keys. */
  releaseHeld(): void;
  /** Resolves once the gateway has made `count` JWKS requests in all (at once if it has). */
  jwksFetched(count: number): Promise<void>;
  /** A signed company JWT (RS256). */
  mint(options?: MintOptions): Promise<string>;
  /** Publishes a new key and signs new tokens with it (the old key stays published). */
  rotate(): Promise<void>;
  /** `alg: none`, no signature: must never be accepted. */
  unsigned(claims?: Record<string, unknown>): string;
  /** HS256 keyed with the published public key (the classic algorithm-confusion attack). */
  hmacWithPublicKey(claims?: Record<string, unknown>): Promise<string>;
  /** Gateway settings for jwt mode against this provider. */
  env(accountsFile: string): Record<string, string>;
}

async function newKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = `key-${randomUUID()}`;
  return { kid, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * The company's identity provider, as the gateway meets it: a JWKS served over real HTTP on a
 * free port (counting fetches), and tokens signed with its keys — or forged in the ways attackers
 * forge them.
 */
export async function startIdentityProvider(register: (dispose: () => unknown) => void): Promise<IdentityProvider> {
  const published: SigningKey[] = [await newKey()];
  const foreign = await newKey();
  let current = published[0]!;
  let fetches = 0;
  const fetchTimes: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let behaviour: JwksBehaviour = { answer: 'keys' };
  const held = new Set<ServerResponse>();
  const fetchWaiters: Array<{ count: number; resolve: () => void }> = [];
  const answerKeys = (response: ServerResponse) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ keys: published.map((key) => key.jwk) }));
  };
  const server = createServer((request, response) => {
    if (request.url !== '/jwks.json') {
      response.writeHead(404).end();
      return;
    }
    fetches++;
    fetchTimes.push(Date.now());
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    response.on('close', () => {
      inFlight--;
      held.delete(response);
    });
    for (const waiter of fetchWaiters.filter((waiter) => waiter.count <= fetches)) {
      fetchWaiters.splice(fetchWaiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    if (behaviour.answer === 'hang') held.add(response);
    else if (behaviour.answer === 'status') response.writeHead(behaviour.status, { 'content-type': 'text/plain' }).end('the issuer is down');
    else answerKeys(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  register(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;

  const claimsOf = (overrides: Record<string, unknown> = {}): JWTPayload => {
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      iss: ISSUER,
      aud: AUDIENCE,
      sub: `user-${randomUUID()}`,
      iat: now,
      exp: now + 600,
      mypreferences_clients: [DEMO_ACCOUNT.clientId],
      scope: `${READ} ${WRITE}`,
      ...overrides,
    };
    for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
    return claims as JWTPayload;
  };

  return {
    jwksUrl: `http://127.0.0.1:${port}/jwks.json`,
    get jwksFetches() {
      return fetches;
    },
    get jwksFetchTimes() {
      return fetchTimes;
    },
    get jwksInFlight() {
      return inFlight;
    },
    get maxJwksInFlight() {
      return maxInFlight;
    },
    setJwks(next) {
      behaviour = next;
    },
    releaseHeld() {
      for (const response of held) answerKeys(response);
      held.clear();
    },
    jwksFetched(count) {
      if (fetches >= count) return Promise.resolve();
      return new Promise((resolve) => fetchWaiters.push({ count, resolve }));
    },
    async mint({ claims, kid, foreignKey } = {}) {
      const key = foreignKey ? foreign : current;
      return new SignJWT(claimsOf(claims)).setProtectedHeader({ alg: 'RS256', kid: kid ?? current.kid, typ: 'JWT' }).sign(key.privateKey);
    },
    async rotate() {
      current = await newKey();
      published.push(current);
    },
    unsigned(claims) {
      return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claimsOf(claims))}.`;
    },
    async hmacWithPublicKey(claims) {
      const input = `${b64({ alg: 'HS256', kid: current.kid, typ: 'JWT' })}.${b64(claimsOf(claims))}`;
      const secret = await exportSPKI(current.publicKey);
      return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    },
    env(accountsFile) {
      return {
        AUTH_MODE: 'jwt',
        AUTH_JWKS_URL: `http://127.0.0.1:${port}/jwks.json`,
        AUTH_JWT_ISSUER: ISSUER,
        AUTH_JWT_AUDIENCE: AUDIENCE,
        MYPREFERENCES_ACCOUNTS_FILE: accountsFile,
      };
    },
  };
}

/**
 * A service-accounts file (`MYPREFERENCES_ACCOUNTS_FILE`) giving the gateway the simulator's demo
 * OAuth client for clientId `demo`, in a temporary folder removed after the test.
 */
export function writeAccountsFile(
  simulator: Simulator,
  register: (dispose: () => unknown) => void,
  options: { tokenUrl?: string; extra?: Record<string, unknown> } = {},
): string {
  const folder = mkdtempSync(join(tmpdir(), 'bulk-import-accounts-'));
  register(() => rmSync(folder, { recursive: true, force: true }));
  const oauth = DEMO_ACCOUNT.oauthClients![0]!;
  const file = join(folder, 'accounts.json');
  const accounts = {
    [DEMO_ACCOUNT.clientId]: {
      tokenUrl: options.tokenUrl ?? simulator.tokenUrl,
      clientId: oauth.clientId,
      clientSecret: oauth.clientSecret,
      scope: `${DEMO_ACCOUNT.clientId}/${oauth.userId}`,
    },
    ...options.extra,
  };
  writeFileSync(file, JSON.stringify(accounts));
  return file;
}

/**
 * A token endpoint in front of the simulator's that remembers every access token it hands out,
 * so a test can look for them where they must never be (logs, metrics, health answers).
 */
export async function startRecordingTokenEndpoint(
  simulator: Simulator,
  register: (dispose: () => unknown) => void,
): Promise<{ url: string; tokens: string[] }> {
  const tokens: string[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const headers: Record<string, string> = { 'content-type': request.headers['content-type'] ?? '' };
      if (request.headers.authorization) headers['authorization'] = request.headers.authorization;
      void fetch(simulator.tokenUrl, { method: 'POST', headers, body: Buffer.concat(chunks) }).then(async (answer) => {
        const text = await answer.text();
        const token = (JSON.parse(text) as { access_token?: string }).access_token;
        if (token) tokens.push(token);
        response.writeHead(answer.status, { 'content-type': 'application/json' });
        response.end(text);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  register(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/token`, tokens };
}
