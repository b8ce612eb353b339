import type { Browser, Page, Request } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { ACCESS_TOKEN_PLACEHOLDER } from '../../src/transport/graphiql/starter.js';
import { useCleanup } from '../helpers/cleanup.js';
import { launchChromium, saveScreenshot } from './chromium.js';
import { graphiqlUi } from './graphiql-ui.js';
import { BROWSER_TEST_TIMEOUT_MS, STEP_TIMEOUT_MS, testSteps } from './steps.js';
import { startZeroConfigGateway } from './zero-config-gateway.js';

/**
 * GraphiQL in a real Chromium against the zero-config gateway, as a first-time user meets it: a
 * fresh browser profile opens the page and runs the starter's operations in order, the way the
 * starter says. The page must render from the gateway alone (every request the page and its
 * workers make is recorded, and any to another origin is refused), under its content policy (no
 * violation), and show the importStatus subscription live over SSE.
 */
describe('GraphiQL', () => {
  const cleanup = useCleanup();
  // Launched by the first test that needs it, so that without Chromium every test fails (none is skipped).
  let launched: Promise<Browser> | undefined;
  const browser = () => (launched ??= launchChromium());
  afterAll(async () => (await launched?.catch(() => undefined))?.close());

  it(
    'runs the starter on a first visit, InitiateImport to FailedRecords, and shows its tab again after a reload',
    async () => {
      let page: Page | undefined;
      // Page errors, console errors and content-policy violations, as they happen.
      const problems: string[] = [];
      const step = testSteps(
        'graphiql',
        () => page,
        () => problems.map((problem) => `seen in the page: ${problem}`),
      );
      // Records at 1,500 a second: the 15,000 staged below take 10 s, so the subscription shows
      // progress even when a loaded machine takes seconds between ExecuteImport and WatchImport.
      const gateway = await step('start the zero-config gateway', () =>
        startZeroConfigGateway({ POLL_INTERVAL_MS: '250', SIMULATOR_RECORDS_PER_SECOND: '1500' }, cleanup),
      );
      const url = `${gateway.origin}/graphql`;
      const context = await step('open a fresh browser profile', async () => (await browser()).newContext({ viewport: { width: 1400, height: 1000 } }));
      cleanup(() => context.close());
      context.setDefaultTimeout(STEP_TIMEOUT_MS);

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
      page = await context.newPage();
      page.on('websocket', (socket) => requested.push(socket.url()));
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('console', (message) => message.type() === 'error' && problems.push(`console: ${message.text()}`));
      await page.exposeFunction('recordViolation', (violation: string) => problems.push(`CSP: ${violation}`));
      await page.addInitScript(`
        document.addEventListener('securitypolicyviolation', (event) => window.recordViolation(event.violatedDirective + ' ' + event.blockedURI));
      `);
      const ui = await graphiqlUi(page);
      const queryEditor = page.locator('.graphiql-query-editor');
      const variablesLine = (text: string) => page!.locator('.graphiql-editor-tool[aria-label="Variables"] .view-line', { hasText: text });

      await step('open GraphiQL: the starter in the query editor, its variables in the variables editor', async () => {
        await page!.goto(url);
        await queryEditor.filter({ hasText: 'mutation InitiateImport' }).waitFor();
        await variablesLine(ACCESS_TOKEN_PLACEHOLDER).waitFor();
      });

      const accessToken = await step('run InitiateImport', async () => (await ui.run('InitiateImport', /"accessToken": "(\d+)"/))[1]!);

      await step('paste the accessToken over the placeholder in the variables', async () => {
        await ui.replaceInVariables(ACCESS_TOKEN_PLACEHOLDER, accessToken);
        await variablesLine(`"accessToken": "${accessToken}",`).waitFor();
      });

      // Each run stages the variables' 5,000 records, 10 of them invalid.
      for (const run of [1, 2, 3]) {
        await step(`run StageImport (${run} of 3)`, () =>
          ui.run(
            'StageImport',
            new RegExp(`"totalRecordsReceived": ${5000 * run},\\s*"validationSuccessful": ${4990 * run},\\s*"validationFailed": ${10 * run}`),
          ),
        );
      }

      await step('run ExecuteImport', () => ui.run('ExecuteImport', /"executeImport": \{\s*"status": "QUEUED"/));

      const watchedFrom = ui.results.length;
      await step('run WatchImport until COMPLETED', () => ui.run('WatchImport', /"status": "COMPLETED",\s*"progress": 1,\s*"processed": 14940/));
      const progressShown = ui.results
        .slice(watchedFrom)
        .map((text) => /"status": "PROCESSING",\s*"progress": (0\.\d+)/.exec(text)?.[1])
        .filter((progress) => progress !== undefined);
      expect(progressShown.length, `the result pane showed:\n${ui.results.slice(watchedFrom).join('\n---\n')}`).toBeGreaterThanOrEqual(1);

      // 30 records failed validation while staging, 30 (the prior consents) on execution.
      await step('run FailedRecords', () =>
        ui.run('FailedRecords', /"status": "COMPLETED",\s*"failedRecords": \{\s*"totalResults": 60,\s*"records": \[\s*\{\s*"phase": "STAGING"/),
      );
      await saveScreenshot(page, 'graphiql');

      await step('reload: the starter tab again, with the pasted accessToken', async () => {
        await page!.reload();
        await queryEditor.filter({ hasText: 'mutation InitiateImport' }).waitFor();
        await variablesLine(`"accessToken": "${accessToken}",`).waitFor();
        // One tab, the starter's (named after the operation run last), and no empty <untitled> one.
        const tabs = await page!.locator('.graphiql-tab').allInnerTexts();
        expect(tabs, `tabs: ${tabs.join(', ')}`).toHaveLength(1);
        expect(tabs[0]).not.toContain('untitled');
      });

      // data: URLs (icons inside the stylesheet) are inside the page; everything else is this origin's.
      const gatewayOrigins = [gateway.origin, gateway.origin.replace(/^http/, 'ws')];
      expect(requested.length).toBeGreaterThan(0);
      expect(requested.filter((address) => !address.startsWith('data:') && !gatewayOrigins.includes(new URL(address).origin))).toEqual([]);
      expect(problems).toEqual([]);
      // The subscription went out as SSE, POSTed (the variables' records would not fit in a URL),
      // with the prefilled credential and the CSRF header.
      const streamed = graphqlRequests.find((request) => request.headers()['accept']?.includes('text/event-stream'));
      expect(streamed, `requests to /graphql: ${graphqlRequests.map((request) => request.method()).join(', ')}`).toBeDefined();
      expect(streamed!.method()).toBe('POST');
      const headers = await streamed!.allHeaders();
      expect(headers['x-graphql-csrf']).toBeDefined();
      expect(headers['authorization']).toBe(gateway.demoAuthorization);
    },
    BROWSER_TEST_TIMEOUT_MS,
  );
});
