import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createGateway } from '../../src/gateway/gateway.js';
import { silentLogger } from '../../src/logger.js';
import { schema } from '../../src/schema/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import { STARTER_DOCUMENT } from '../../src/transport/plugins/graphiql-starter.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startGateway, temporaryDataDir } from '../helpers/gateway.js';

/**
 * The browser-facing pages over plain HTTP: GraphiQL's headers and switch, and the progress page's
 * routes. `test/browser/` runs both in Chromium.
 */
describe('GraphiQL and the progress page over HTTP', () => {
  const cleanup = useCleanup();

  async function gatewayWith(env: Record<string, string> = {}) {
    const simulator = await startSimulator();
    cleanup(() => simulator.stop());
    return startGateway(simulator.baseUrl, env, cleanup);
  }

  const openGraphiQL = (url: string) => fetch(url, { headers: { accept: 'text/html' } });

  it('serves GraphiQL self-hosted, with a content policy that names its one script by hash and no other origin', async () => {
    const { url } = await gatewayWith();
    const response = await openGraphiQL(url);
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('cache-control')).toBe('no-store');

    const policy = new Map(
      response.headers
        .get('content-security-policy')!
        .split(';')
        .map((directive) => directive.trim().split(/\s+/))
        .map(([name, ...sources]) => [name!, sources]),
    );
    expect(policy.get('default-src')).toEqual(["'none'"]);
    expect(policy.get('frame-ancestors')).toEqual(["'none'"]);
    const script = html.slice(html.indexOf('<script>') + '<script>'.length, html.indexOf('</script>'));
    expect(policy.get('script-src')).toEqual([`'sha256-${createHash('sha256').update(script).digest('base64')}'`]);
    // Only this origin, the page's own data: and blob: URLs: no host, no scheme of another origin, no wildcard.
    const sources = [...policy.values()].flat();
    expect(sources.filter((source) => !/^('[^']+'|data:|blob:)$/.test(source))).toEqual([]);
    // No <script src>, <link href> or any URL the page would fetch from a CDN.
    expect(html).not.toMatch(/(src|href)=["']?https?:/);
  });

  it('opens with a starter document that is valid against the schema', () => {
    expect(validate(schema, parse(STARTER_DOCUMENT))).toEqual([]);
  });

  it('is off with GRAPHIQL=false, and by default with NODE_ENV=production unless GRAPHIQL=true', async () => {
    const isGraphiQL = async (env: Record<string, string>) => {
      const { url } = await gatewayWith(env);
      const response = await openGraphiQL(url);
      await response.body?.cancel(); // megabytes, unneeded here
      return response.headers.get('content-type')?.startsWith('text/html') ?? false;
    };
    expect(await isGraphiQL({})).toBe(true);
    expect(await isGraphiQL({ GRAPHIQL: 'false' })).toBe(false);
    expect(await isGraphiQL({ NODE_ENV: 'production' })).toBe(false);
    expect(await isGraphiQL({ NODE_ENV: 'production', GRAPHIQL: 'true' })).toBe(true);
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
