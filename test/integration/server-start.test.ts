import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ExecuteImportDocument, ImportSummaryDocument, InitiateImportDocument } from '../../operations/generated.js';
import { useCleanup } from '../helpers/cleanup.js';
import { onlyError, postGraphQL } from '../helpers/graphql.js';
import { startTsProcess } from '../helpers/process.js';

/** `npm start` with nothing configured: the real entry point as its own process. */
describe('src/server.ts', () => {
  const cleanup = useCleanup();

  it('starts the built-in simulator, says so, serves the workflow, and exits 0 on SIGTERM', async () => {
    const server = startTsProcess('src/server.ts', { PORT: '0', HOST: '127.0.0.1' }, cleanup);
    const notice = await server.waitForLog((line) => typeof line['simulator'] === 'string');
    const listening = await server.waitForLog((line) => typeof line['url'] === 'string');
    expect(notice['level']).toBe(40); // warn: loud on purpose
    expect(notice['msg']).toMatch(/BUILT-IN SIMULATOR/);
    expect(notice['clientId']).toBe('demo');

    const url = listening['url'] as string;
    const origin = new URL(url).origin;
    expect((await fetch(`${origin}/healthz`)).status).toBe(200);
    expect((await fetch(`${origin}/readyz`)).status).toBe(200);
    const graphiql = await fetch(url, { headers: { accept: 'text/html' } });
    expect(graphiql.headers.get('content-type')).toMatch(/text\/html/);
    // Read to the end: an unread answer is in flight until the drain's deadline.
    expect(await graphiql.text()).toContain('id="graphiql-config"');

    const initiated = await postGraphQL(url, InitiateImportDocument, { clientId: 'demo', input: { name: 'from npm start' } }, notice['demoAuthorization']);
    expect(initiated.data?.['initiateImport']).toMatchObject({ status: 'INITIATED' });

    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(server.stdout()).not.toContain('"authorization"');
    // A hang guard, not a timing check: tsx, the simulator and GraphiQL's page (its renderer loaded
    // on the first request) take 2.6 s on a quiet machine and ~10 s with the suite around them.
  }, 60_000);

  it('runs jwt mode with a development issuer: npm run token mints scoped tokens the gateway honours', async () => {
    const server = startTsProcess('src/server.ts', { PORT: '0', HOST: '127.0.0.1' }, cleanup);
    const notice = await server.waitForLog((line) => typeof line['simulator'] === 'string');
    const { url } = await server.waitForLog((line) => typeof line['url'] === 'string');
    expect(notice['authMode']).toBe('jwt');
    const initiated = await postGraphQL(url, InitiateImportDocument, { clientId: 'demo', input: { name: 'dev token' } }, notice['demoAuthorization']);
    const ref = { clientId: 'demo', accessToken: initiated.data!['initiateImport'].accessToken as string };

    const { stdout } = await promisify(execFile)(
      'npm',
      ['run', '-s', 'token', '--', '--gateway', url, '--client', 'demo', '--scope', 'bulk-import:read', '--ttl', '600'],
      {
        // npm may otherwise ask the registry whether it is out of date, which waits on the network.
        env: { ...process.env, npm_config_update_notifier: 'false' },
      },
    );
    const token = stdout.trim();
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, any>;
    expect(claims).toMatchObject({ mypreferences_clients: ['demo'], scope: 'bulk-import:read', iss: 'urn:bulk-import-gateway:development' });
    expect(claims['exp'] - claims['iat']).toBe(600);

    expect((await postGraphQL(url, ImportSummaryDocument, ref, `Bearer ${token}`)).data?.['importSummary']).toMatchObject({ status: 'INITIATED' });
    expect(onlyError(await postGraphQL(url, ExecuteImportDocument, ref, `Bearer ${token}`)).extensions).toMatchObject({
      code: 'FORBIDDEN',
      reason: 'MISSING_SCOPE',
    });
    // The issuer's public keys are served like any identity provider's.
    const jwks = (await (await fetch(new URL('/.well-known/jwks.json', url))).json()) as { keys: Array<{ kty: string; d?: string }> };
    expect(jwks.keys).toEqual([expect.objectContaining({ kty: 'EC', alg: 'ES256' })]);
    expect(jwks.keys[0]!.d).toBeUndefined();
    // Two process starts (the gateway, then npm and tsx for the token script) on a loaded machine.
  }, 60_000);

  it('mints no development tokens in a production demo (NODE_ENV=production SIMULATOR=true), even through a proxy on the same host, unless DEV_TOKEN_ROUTE=true asks', async () => {
    const demo = { PORT: '0', HOST: '127.0.0.1', NODE_ENV: 'production', SIMULATOR: 'true' };
    const server = startTsProcess('src/server.ts', demo, cleanup);
    // Both waiters before either line: the two lines may arrive in one chunk.
    const noticed = server.waitForLog((line) => typeof line['simulator'] === 'string');
    const listening = server.waitForLog((line) => typeof line['url'] === 'string');
    const notice = await noticed;
    const { url } = await listening;
    // A reverse proxy on the same host: every caller it forwards reaches the gateway from loopback.
    const proxied = await sameHostProxy(new URL(url).origin);
    const mint = (origin: string) =>
      fetch(`${origin}/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ clients: ['*'] }) });
    expect((await mint(proxied)).status).toBe(404);
    expect((await mint(new URL(url).origin)).status).toBe(404);
    // Nor /metrics (its labels name the tenants), without METRICS_PORT: the start says so.
    expect((await fetch(new URL('/metrics', url))).status).toBe(404);
    expect(server.stdout()).toMatch(/"level":40[^\n]*served nowhere[^\n]*METRICS_PORT/);
    // The demo still runs: the token it logged at start verifies against the issuer's published keys.
    expect((await fetch(new URL('/.well-known/jwks.json', url))).status).toBe(200);
    const initiated = await postGraphQL(url, InitiateImportDocument, { clientId: 'demo', input: { name: 'demo' } }, notice['demoAuthorization']);
    expect(initiated.data?.['initiateImport']).toMatchObject({ status: 'INITIATED' });

    const asked = startTsProcess('src/server.ts', { ...demo, DEV_TOKEN_ROUTE: 'true' }, cleanup);
    const askedUrl = (await asked.waitForLog((line) => typeof line['url'] === 'string'))['url'] as string;
    const minted = await mint(new URL(askedUrl).origin);
    expect(minted.status).toBe(200);
    expect(((await minted.json()) as { token?: string }).token).toMatch(/^ey/);
    // Two process starts on a loaded machine.
  }, 60_000);

  /** A minimal reverse proxy on loopback in front of `target`, as a demo host might run one. */
  async function sameHostProxy(target: string): Promise<string> {
    const proxy = createServer((incoming, outgoing) => {
      const forwarded = httpRequest(`${target}${incoming.url}`, { method: incoming.method, headers: incoming.headers }, (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      });
      forwarded.on('error', () => outgoing.destroy());
      incoming.pipe(forwarded);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    cleanup(() => new Promise<void>((resolve) => proxy.close(() => resolve())));
    return `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  }

  it('refuses to start against a real upstream without AUTH_MODE, naming it', async () => {
    const server = startTsProcess('src/server.ts', { PORT: '0', MYPREFERENCES_BASE_URL: 'http://127.0.0.1:9/Profiles/' }, cleanup);
    expect((await server.exited).code).toBe(2);
    expect(server.stderr()).toMatch(/AUTH_MODE must be set/);
  });

  it('refuses a service-accounts file with a bad entry, naming the entry and never the secret', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'accounts-'));
    cleanup(() => rmSync(folder, { recursive: true, force: true }));
    const file = join(folder, 'accounts.json');
    writeFileSync(file, JSON.stringify({ acme: { tokenUrl: 'not a url', clientId: 'x', clientSecret: 'hunter2-hunter2', scope: 'acme/ApiUser' } }));
    const server = startTsProcess(
      'src/server.ts',
      {
        PORT: '0',
        MYPREFERENCES_BASE_URL: 'http://127.0.0.1:9/Profiles/',
        AUTH_MODE: 'jwt',
        AUTH_JWKS_URL: 'http://127.0.0.1:9/jwks',
        AUTH_JWT_ISSUER: 'i',
        AUTH_JWT_AUDIENCE: 'a',
        MYPREFERENCES_ACCOUNTS_FILE: file,
      },
      cleanup,
    );
    expect((await server.exited).code).toBe(2);
    expect(server.stderr()).toMatch(/MYPREFERENCES_ACCOUNTS_FILE entry "acme": tokenUrl must be an absolute URL/);
    expect(server.stderr()).not.toContain('hunter2');
  });

  it('refuses cluster mode with the embedded simulator: each replica would run its own under shared keys', async () => {
    const server = startTsProcess(
      'src/server.ts',
      { PORT: '0', REDIS_URL: 'redis://127.0.0.1:9', CREDENTIAL_FINGERPRINT_SECRET: 'a-long-enough-secret' },
      cleanup,
    );
    expect((await server.exited).code).toBe(2);
    expect(server.stderr()).toMatch(/REDIS_URL needs MYPREFERENCES_BASE_URL/);
  });

  it('refuses cluster mode without a shared store: REDIS_URL needs DATABASE_URL (exit 2, naming it)', async () => {
    const server = startTsProcess(
      'src/server.ts',
      {
        PORT: '0',
        MYPREFERENCES_BASE_URL: 'http://127.0.0.1:9/Profiles/',
        AUTH_MODE: 'passthrough',
        REDIS_URL: 'redis://127.0.0.1:9',
        CREDENTIAL_FINGERPRINT_SECRET: 'a-long-enough-secret',
      },
      cleanup,
    );
    expect((await server.exited).code).toBe(2);
    expect(server.stderr()).toMatch(/^ {2}DATABASE_URL must be set when REDIS_URL is set: replicas share one PostgreSQL store/m);
  });

  it('exits 1 when PostgreSQL does not answer within DATABASE_START_TIMEOUT_MS, naming where it looked, never the password', async () => {
    const server = startTsProcess(
      'src/server.ts',
      { PORT: '0', HOST: '127.0.0.1', DATABASE_URL: 'postgres://gateway:pw-4d2e9b@127.0.0.1:9/registry', DATABASE_START_TIMEOUT_MS: '500' },
      cleanup,
    );
    expect((await server.exited).code).toBe(1);
    expect(server.stderr()).toMatch(/^The gateway failed to start: PostgreSQL at 127\.0\.0\.1:9\/registry did not answer within 500 ms/);
    expect(server.stderr() + server.stdout()).not.toContain('pw-4d2e9b');
  });

  it('keeps its embedded store in DATA_DIR, and a restart opens it again (the drain released it)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'server-data-'));
    cleanup(() => rmSync(dataDir, { recursive: true, force: true }));
    for (const expected of ['store migrated', 'store open']) {
      const server = startTsProcess('src/server.ts', { PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir }, cleanup);
      // Both waiters first: the two lines may arrive in one chunk.
      const [opened] = await Promise.all([
        server.waitForLog((line) => line['component'] === 'store'),
        server.waitForLog((line) => typeof line['url'] === 'string'),
      ]);
      expect(opened).toMatchObject({ msg: expected, store: { file: join(dataDir, 'gateway.sqlite') } });
      server.child.kill('SIGTERM');
      expect(await server.exited).toEqual({ code: 0, signal: null });
    }
  }, 60_000);

  it('refuses NODE_ENV=production without an upstream unless SIMULATOR=true asks for the simulator', async () => {
    const server = startTsProcess('src/server.ts', { PORT: '0', NODE_ENV: 'production' }, cleanup);
    expect((await server.exited).code).toBe(2);
    expect(server.stderr()).toMatch(/MYPREFERENCES_BASE_URL must be set when NODE_ENV is production/);
  });

  it('names every missing and invalid variable in one run', async () => {
    const server = startTsProcess(
      'src/server.ts',
      { PORT: 'not-a-port', NODE_ENV: 'production', MYPREFERENCES_BASE_URL: 'http://127.0.0.1:9/Profiles/', AUTH_MODE: 'jwt' },
      cleanup,
    );
    expect((await server.exited).code).toBe(2);
    expect(server.stderr()).toMatch(/^Invalid configuration \(5 problems\):$/m);
    for (const name of ['PORT', 'AUTH_JWKS_URL', 'AUTH_JWT_ISSUER', 'AUTH_JWT_AUDIENCE', 'MYPREFERENCES_ACCOUNTS_FILE']) {
      expect(server.stderr()).toMatch(new RegExp(`^  ${name} `, 'm'));
    }
  });

  it('refuses an invalid variable at start, naming it', async () => {
    const server = startTsProcess('src/server.ts', { PORT: 'not-a-port' }, cleanup);
    expect((await server.exited).code).toBe(2);
    expect(server.stderr()).toMatch(/PORT must be a whole number/);
  });
});
