import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { type IncomingHttpHeaders, request } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { getVariableValues, Kind, type OperationDefinitionNode, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createGateway } from '../../src/gateway/gateway.js';
import { silentLogger } from '../../src/logger.js';
import { schema } from '../../src/schema/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import { ACCESS_TOKEN_PLACEHOLDER, graphiqlStarter } from '../../src/transport/graphiql/starter.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startGateway, temporaryDataDir } from '../helpers/gateway.js';
import { startNodeProcess } from '../helpers/process.js';

/**
 * The browser-facing pages over plain HTTP: GraphiQL's page, its files (names, compression,
 * caching), its starter and its switch, and the progress page's routes. `test/browser/` runs both
 * in Chromium.
 */
describe('GraphiQL and the progress page over HTTP', () => {
  const cleanup = useCleanup();

  async function gatewayWith(env: Record<string, string> = {}) {
    const simulator = await startSimulator();
    cleanup(() => simulator.stop());
    return startGateway(simulator.baseUrl, env, cleanup);
  }

  const openGraphiQL = (url: string) => fetch(url, { headers: { accept: 'text/html' } });

  /** The page, its content policy, and the files it names (the workers' are in its settings block). */
  async function graphiqlPage(url: string) {
    const response = await openGraphiQL(url);
    const html = await response.text();
    const policy = new Map(
      (response.headers.get('content-security-policy') ?? '')
        .split(';')
        .map((directive) => directive.trim().split(/\s+/))
        .map(([name, ...sources]) => [name!, sources]),
    );
    const settings = JSON.parse(/<script type="application\/json" id="graphiql-config">(.*?)<\/script>/s.exec(html)![1]!) as {
      workers: Record<string, string>;
    };
    const linked = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    return { response, html, policy, files: [...linked, ...Object.values(settings.workers)] };
  }

  it('serves a page of a few lines that runs no inline script: the policy allows scripts and workers of this origin only', async () => {
    const { url } = await gatewayWith();
    const { response, html, policy, files } = await graphiqlPage(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    // It may carry the development credential.
    expect(response.headers.get('cache-control')).toBe('no-store');
    // The starter and the settings included; the renderer's page was 9 MB.
    expect(Buffer.byteLength(html)).toBeLessThan(4096);

    expect(policy.get('default-src')).toEqual(["'none'"]);
    expect(policy.get('script-src')).toEqual(["'self'"]);
    expect(policy.get('worker-src')).toEqual(["'self'"]);
    expect(policy.get('frame-ancestors')).toEqual(["'none'"]);
    expect(policy.get('base-uri')).toEqual(["'none'"]);
    // Only this origin and the stylesheet's data: URLs: no host, no scheme of another origin, no wildcard.
    const sources = [...policy.values()].flat();
    expect(sources.filter((source) => !/^('[^']+'|data:)$/.test(source))).toEqual([]);
    // Every <script> is a file of this origin or a JSON data block, which is not run.
    const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((match) => match[1]!.trim());
    expect(
      scripts.filter((attributes) => !/^defer src="\/graphiql\/[^"]+"$/.test(attributes) && attributes !== 'type="application/json" id="graphiql-config"'),
    ).toEqual([]);
    expect(files.map((path) => path.replace(/\.[0-9a-f]{16}\./, '.<hash>.')).sort()).toEqual([
      '/graphiql/editor.worker.<hash>.js',
      '/graphiql/favicon.<hash>.ico',
      '/graphiql/graphiql.<hash>.css',
      '/graphiql/graphiql.<hash>.js',
      '/graphiql/graphql.worker.<hash>.js',
      '/graphiql/json.worker.<hash>.js',
      '/graphiql/start.<hash>.js',
    ]);
  });

  it('serves every file the page names under its content hash, compressed as Accept-Encoding asks, cacheable for a year', async () => {
    const { url, origin } = await gatewayWith();
    const { files } = await graphiqlPage(url);
    const sizes = { plain: 0, brotli: 0 };
    for (const path of files) {
      const plain = await get(`${origin}${path}`);
      expect(plain.status, path).toBe(200);
      expect(plain.headers['content-encoding'], path).toBeUndefined();
      expect(plain.headers['cache-control'], path).toBe('public, max-age=31536000, immutable');
      expect(plain.headers['vary'], path).toBe('accept-encoding');
      expect(plain.headers['x-content-type-options'], path).toBe('nosniff');
      expect(plain.headers['content-type'], path).toBe(
        path.endsWith('.css') ? 'text/css; charset=utf-8' : path.endsWith('.ico') ? 'image/x-icon' : 'text/javascript; charset=utf-8',
      );
      expect(Number(plain.headers['content-length']), path).toBe(plain.body.length);
      // The name is the content's: a new version is a new name, so a year's cache is never stale.
      expect(path, path).toContain(`.${createHash('sha256').update(plain.body).digest('hex').slice(0, 16)}.`);

      const brotli = await get(`${origin}${path}`, { 'accept-encoding': 'gzip, deflate, br' });
      const gzip = await get(`${origin}${path}`, { 'accept-encoding': 'gzip, br;q=0.5' });
      const refused = await get(`${origin}${path}`, { 'accept-encoding': 'br;q=0, gzip;q=0' });
      expect([brotli.headers['content-encoding'], gzip.headers['content-encoding'], refused.headers['content-encoding']], path).toEqual([
        'br',
        'gzip',
        undefined,
      ]);
      sizes.plain += plain.body.length;
      sizes.brotli += brotli.body.length;
      expect(brotliDecompressSync(brotli.body).equals(plain.body), path).toBe(true);
      expect(gunzipSync(gzip.body).equals(plain.body), path).toBe(true);
      expect(refused.body.equals(plain.body), path).toBe(true);
      expect(new Set([plain.headers['etag'], brotli.headers['etag'], gzip.headers['etag']]).size, path).toBe(3);

      // A browser that revalidates anyway gets a 304 without the body.
      const again = await get(`${origin}${path}`, { 'accept-encoding': 'br', 'if-none-match': brotli.headers['etag'] as string });
      expect([again.status, again.body.length, again.headers['cache-control']], path).toEqual([304, 0, 'public, max-age=31536000, immutable']);
    }
    // What a first visit costs: the files in brotli are under a third of their size.
    expect(sizes.brotli).toBeLessThan(sizes.plain / 3);
    const head = await get(`${origin}${files[0]}`, { 'accept-encoding': 'br' }, 'HEAD');
    expect([head.status, head.body.length]).toEqual([200, 0]);
    // A hang guard: 30 requests for 9 MB, compressed on the way, take seconds on a loaded machine.
  }, 60_000);

  it('answers 404 for a name it does not serve and 405 for methods other than GET and HEAD', async () => {
    const { url, origin } = await gatewayWith();
    const { files } = await graphiqlPage(url);
    const script = files.find((path) => path.endsWith('.js'))!;
    expect((await get(`${origin}${script.replace(/\.[0-9a-f]{16}\./, '.0000000000000000.')}`)).status).toBe(404);
    expect((await get(`${origin}/graphiql/`)).status).toBe(404);
    expect((await get(`${origin}/graphiql/nested${script}`)).status).toBe(404);
    const posted = await get(`${origin}${script}`, {}, 'POST');
    expect([posted.status, posted.headers['allow']]).toEqual([405, 'GET, HEAD']);
  });

  it('opens with a starter whose document is valid against the schema and whose variables every operation accepts', () => {
    const starter = graphiqlStarter(10_000);
    const document = parse(starter.query);
    expect(validate(schema, document)).toEqual([]);
    // GraphiQL's variables are JSON with comments.
    const variables = JSON.parse(starter.variables.replaceAll(/^\s*\/\/.*$/gm, '').replace(ACCESS_TOKEN_PLACEHOLDER, '1')) as Record<string, unknown>;
    const operations = document.definitions.filter((definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION);
    expect(operations.map((operation) => operation.name?.value)).toEqual(['InitiateImport', 'StageImport', 'ExecuteImport', 'WatchImport', 'FailedRecords']);
    for (const operation of operations) {
      const used = new Set(operation.variableDefinitions?.map((definition) => definition.variable.name.value));
      const given = Object.fromEntries(Object.entries(variables).filter(([name]) => used.has(name)));
      expect(getVariableValues(schema, operation.variableDefinitions ?? [], given).errors, operation.name?.value).toBeUndefined();
      // With no variables at all (an empty variables editor), the first step still runs.
      if (operation.name?.value === 'InitiateImport') expect(getVariableValues(schema, operation.variableDefinitions ?? [], {}).errors).toBeUndefined();
    }
    expect(variables['records']).toHaveLength(5000);
    // Never more than one stageImport may carry (STAGE_MAX_RECORDS).
    expect(JSON.parse(graphiqlStarter(100).variables.replaceAll(/^\s*\/\/.*$/gm, ''))['records']).toHaveLength(100);
  });

  it("loads GraphiQL's renderer on the first request for the page, not at start", async () => {
    const server = startNodeProcess(
      ['--import', 'tsx', '--import', './test/helpers/report-graphiql-renderer.ts', 'src/server.ts'],
      { PORT: '0', HOST: '127.0.0.1' },
      cleanup,
    );
    const { url } = await server.waitForLog((line) => typeof line['url'] === 'string');
    expect(server.stdout()).not.toContain('"resolved"');
    const resolved = server.waitForLog((line) => typeof line['resolved'] === 'string');
    await (await openGraphiQL(url)).text();
    expect((await resolved)['resolved']).toBe('@graphql-yoga/render-graphiql/graphiql');
    // A hang guard, not a timing check: a process with tsx takes ~2 s alone, ~10 s in the suite.
  }, 60_000);

  it('is off with GRAPHIQL=false, and by default with NODE_ENV=production unless GRAPHIQL=true: its files too', async () => {
    const { url } = await gatewayWith();
    const { files } = await graphiqlPage(url);
    const serves = async (env: Record<string, string>) => {
      const { url, origin } = await gatewayWith(env);
      const response = await openGraphiQL(url);
      await response.body?.cancel();
      const file = await get(`${origin}${files[0]}`);
      return { page: response.headers.get('content-type')?.startsWith('text/html') ?? false, file: file.status };
    };
    expect(await serves({})).toEqual({ page: true, file: 200 });
    expect(await serves({ GRAPHIQL: 'false' })).toEqual({ page: false, file: 404 });
    expect(await serves({ NODE_ENV: 'production' })).toEqual({ page: false, file: 404 });
    expect(await serves({ NODE_ENV: 'production', GRAPHIQL: 'true' })).toEqual({ page: true, file: 200 });
  });

  it('serves the progress page and its bundled script when asked to (zero config), and not otherwise', async () => {
    const simulator = await startSimulator();
    cleanup(() => simulator.stop());
    const dataDir = temporaryDataDir();
    cleanup(() => rmSync(dataDir, { recursive: true, force: true }));
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', MYPREFERENCES_BASE_URL: simulator.baseUrl, AUTH_MODE: 'passthrough', DATA_DIR: dataDir });
    const gateway = createGateway({ config, upstreamBaseUrl: new URL(simulator.baseUrl), logger: silentLogger(), demoPage: true });
    const { port } = await gateway.start();
    cleanup(() => gateway.stop());
    const origin = `http://127.0.0.1:${port}`;

    const page = await fetch(`${origin}/demo`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'none'; script-src 'self';.*frame-ancestors 'none'$/);
    expect(await page.text()).toContain('data-testid="start"');
    const script = await fetch(`${origin}/demo/progress-page.js`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    // graphql-ws, bundled: the browser needs nothing but this origin.
    expect(await script.text()).toContain('graphql-transport-ws');
    expect((await fetch(`${origin}/demo/progress-page.css`)).status).toBe(200);
    expect((await fetch(`${origin}/demo`, { method: 'POST' })).status).toBe(405);

    const { origin: withoutDemo } = await gatewayWith();
    expect((await fetch(`${withoutDemo}/demo`)).status).toBe(404);
  });
});

/** One request with node:http, which (unlike fetch) hands over the body as sent: compressed, if it was. */
function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request(url, { method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}
