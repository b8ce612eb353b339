import type { Browser, Request } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { ExecuteImportDocument, InitiateImportDocument, StageImportDocument } from '../../operations/generated.js';
import { useCleanup } from '../helpers/cleanup.js';
import { postGraphQL } from '../helpers/graphql.js';
import { validRecord } from '../helpers/records.js';
import { launchChromium, saveScreenshot } from './chromium.js';
import { startZeroConfigGateway } from './zero-config-gateway.js';

/**
 * GraphiQL in a real Chromium against the zero-config gateway: it must render from the gateway
 * alone (every request the page and its workers make is recorded, and any to another origin is
 * refused), under its content policy (no violation), and run an importStatus subscription — a GET
 * over SSE, which needs the CSRF header — with the prefilled development credential.
 */
describe('GraphiQL', () => {
  const cleanup = useCleanup();
  // Launched by the first test that needs it, so that without Chromium every test fails (none is skipped).
  let launched: Promise<Browser> | undefined;
  const browser = () => (launched ??= launchChromium());
  afterAll(async () => (await launched?.catch(() => undefined))?.close());

  it('renders with no request to another origin and runs an importStatus subscription to COMPLETED', async () => {
    const gateway = await startZeroConfigGateway({ POLL_INTERVAL_MS: '200' }, cleanup);
    const url = `${gateway.origin}/graphql`;
    const context = await (await browser()).newContext();
    cleanup(() => context.close());

    const requested: string[] = [];
    const graphqlRequests: Request[] = [];
    await context.route('**/*', (route) => {
      const request = route.request();
      requested.push(request.url());
      if (new URL(request.url()).origin !== gateway.origin) return route.abort('blockedbyclient');
      if (new URL(request.url()).pathname === '/graphql' && request.resourceType() !== 'document') graphqlRequests.push(request);
      return route.continue();
    });
    context.on('request', (request) => requested.push(request.url()));
    const page = await context.newPage();
    page.on('websocket', (socket) => requested.push(socket.url()));
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => message.type() === 'error' && problems.push(`console: ${message.text()}`));
    await page.exposeFunction('recordViolation', (violation: string) => problems.push(`CSP: ${violation}`));
    await page.addInitScript(`
      document.addEventListener('securitypolicyviolation', (event) => window.recordViolation(event.violatedDirective + ' ' + event.blockedURI));
    `);

    // An import to watch, staged but not yet executed.
    const initiated = await postGraphQL(url, InitiateImportDocument, { clientId: 'demo', input: { name: 'watched from GraphiQL' } }, gateway.demoAuthorization);
    const ref = { clientId: 'demo', accessToken: initiated.data!['initiateImport'].accessToken as string };
    const records = Array.from({ length: 5000 }, (_, i) => validRecord(i + 1));
    expect((await postGraphQL(url, StageImportDocument, { ...ref, records }, gateway.demoAuthorization)).errors).toBeUndefined();

    // A first visit opens on the starter document, the development credential in the headers editor.
    await page.goto(url);
    await page.locator('.graphiql-query-editor', { hasText: 'mutation InitiateImport' }).waitFor();
    await page.getByText('Headers', { exact: true }).click();
    await page.locator('.graphiql-editor-tool', { hasText: '"Authorization": "Bearer ' }).waitFor();

    const subscription = `subscription { importStatus(clientId: "demo", accessToken: "${ref.accessToken}") { status progress processed } }`;
    const response = await page.goto(`${url}?query=${encodeURIComponent(subscription)}`);
    expect(response?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    const run = page.locator('.graphiql-execute-button');
    await run.waitFor();
    await run.click();
    // Locators, not waitForFunction: that evaluates strings, which the page's content policy refuses.
    const result = page.locator('.graphiql-response');
    await result.filter({ hasText: /"(status|errors)"/ }).waitFor();
    expect(await result.textContent()).toContain('"STAGING"');
    expect((await postGraphQL(url, ExecuteImportDocument, ref, gateway.demoAuthorization)).errors).toBeUndefined();
    await result.filter({ hasText: '"COMPLETED"' }).waitFor({ timeout: 30_000 });
    await saveScreenshot(page, 'graphiql');

    // data: URLs (the favicon, icons) are inside the page; blob: URLs (the editor's workers) have the page's origin.
    const gatewayOrigins = [gateway.origin, gateway.origin.replace(/^http/, 'ws')];
    expect(requested.length).toBeGreaterThan(0);
    expect(requested.filter((address) => !address.startsWith('data:') && !gatewayOrigins.includes(new URL(address).origin))).toEqual([]);
    expect(problems).toEqual([]);
    // The subscription went out as SSE with the CSRF header and the prefilled credential.
    const streamed = graphqlRequests.find((request) => request.headers()['accept']?.includes('text/event-stream'));
    expect(streamed, `requests to /graphql: ${graphqlRequests.map((request) => request.method()).join(', ')}`).toBeDefined();
    const headers = await streamed!.allHeaders();
    expect(headers['x-graphql-csrf']).toBeDefined();
    expect(headers['authorization']).toBe(gateway.demoAuthorization);
  }, 90_000);
});
