import type { Browser, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { useCleanup } from '../helpers/cleanup.js';
import { launchChromium, saveScreenshot } from './chromium.js';
import { startZeroConfigGateway } from './zero-config-gateway.js';

/**
 * The progress page (`GET /demo`, `examples/web/`) in a real Chromium against the zero-config
 * gateway: the page's own import (25,000 records) with a short poll interval, so the bar moves
 * through many states within seconds.
 */
describe('the progress page', () => {
  const cleanup = useCleanup();
  // Launched by the first test that needs it, so that without Chromium every test fails (none is skipped).
  let launched: Promise<Browser> | undefined;
  const browser = () => (launched ??= launchChromium());
  afterAll(async () => (await launched?.catch(() => undefined))?.close());

  /** Every value the bar's aria-valuenow and the connection line's state take, as the page sets them. */
  async function watchPage(page: Page) {
    const progress: number[] = [];
    const connection: string[] = [];
    let reached100: () => void;
    let movedOn: () => void;
    const completed = new Promise<void>((resolve) => (reached100 = resolve));
    const underWay = new Promise<void>((resolve) => (movedOn = resolve));
    await page.exposeFunction('recordAttribute', (name: string, value: string) => {
      if (name === 'data-state') return void connection.push(value);
      progress.push(Number(value));
      if (value === '100') reached100();
      else if (value !== '0') movedOn();
    });
    await page.addInitScript(`
      new MutationObserver((mutations) => {
        for (const { target, attributeName } of mutations) window.recordAttribute(attributeName, target.getAttribute(attributeName));
      }).observe(document, { subtree: true, attributes: true, attributeFilter: ['aria-valuenow', 'data-state'] });
    `);
    // Page events, not polling: the page's content policy refuses the eval that waitForFunction needs.
    return { progress, connection, underWay, completed: untilCompleted(page, completed) };
  }

  /** Resolves when the bar reaches 100 %; fails at once, with the page's words, when the page gives up. */
  function untilCompleted(page: Page, reached100: Promise<void>): Promise<void> {
    const status = page.getByTestId('status');
    const gaveUp = status
      .filter({ hasText: /^Failed:/ })
      .waitFor({ timeout: 0 })
      .then(async () => {
        throw new Error(`the page says: ${await status.textContent()}`);
      });
    gaveUp.catch(() => {}); // the page closes at the end of the test, ending this wait
    return Promise.race([reached100, gaveUp]);
  }

  it('runs an import from the Start button to 100 %, with intermediate states, then lists the first failed records', async () => {
    const gateway = await startZeroConfigGateway({ POLL_INTERVAL_MS: '250', SIMULATOR_RECORDS_PER_SECOND: '5000' }, cleanup);
    const page = await (await browser()).newPage();
    cleanup(() => page.close());
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
    const watched = await watchPage(page);

    const response = await page.goto(`${gateway.origin}/demo`);
    expect(response?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    const start = page.getByTestId('start');
    await start.click(); // waits until the page has its development token and enables the button
    await watched.completed;
    await page.getByTestId('failed-records').waitFor({ state: 'visible' });

    const { progress } = watched;
    expect(progress.at(-1)).toBe(100);
    expect(progress).toEqual([...progress].sort((a, b) => a - b)); // never backwards
    const intermediate = new Set(progress.filter((value) => value > 0 && value < 100));
    expect(intermediate.size, `aria-valuenow took ${[...new Set(progress)].join(', ')}`).toBeGreaterThanOrEqual(3);
    expect(await page.getByTestId('status').textContent()).toMatch(/^COMPLETED: [\d,]+ imported/);
    expect(await page.getByTestId('pending').textContent()).toBe('0');
    expect(await page.getByTestId('received').textContent()).toBe('25,000');
    expect(await page.locator('[data-testid="failed-records"] tbody tr').count()).toBe(5);
    expect(watched.connection).toContain('connected');
    expect(errors).toEqual([]);
    await saveScreenshot(page, 'progress-page', 'docs/images/progress-page.png');
  }, 90_000);

  it('resumes after the WebSocket drops mid-import: graphql-ws reconnects with backoff and re-subscribes', async () => {
    const gateway = await startZeroConfigGateway({ POLL_INTERVAL_MS: '250', SIMULATOR_RECORDS_PER_SECOND: '2500' }, cleanup);
    const page = await (await browser()).newPage();
    cleanup(() => page.close());
    const watched = await watchPage(page);
    // Every WebSocket of the page goes through the test, which can cut it.
    const sockets: WebSocketRoute[] = [];
    let firstSocket: (socket: WebSocketRoute) => void;
    const opened = new Promise<WebSocketRoute>((resolve) => (firstSocket = resolve));
    await page.routeWebSocket(/\/graphql$/, (socket) => {
      socket.connectToServer();
      sockets.push(socket);
      firstSocket(socket);
    });

    // A failure (a timeout included) says how far the page got.
    onTestFailed(() =>
      console.error('progress page:', JSON.stringify({ progress: watched.progress, connection: watched.connection, sockets: sockets.length })),
    );
    await page.goto(`${gateway.origin}/demo`);
    await page.getByTestId('start').click();
    const socket = await opened;
    // Cut it once the import is visibly under way.
    await watched.underWay;
    await socket.close({ code: 1001, reason: 'the test cuts the connection' });
    // 100 % can only arrive over a new connection: the first one is gone.
    await watched.completed;

    expect(sockets.length).toBeGreaterThanOrEqual(2);
    expect(watched.connection).toEqual(expect.arrayContaining(['connected', 'reconnecting']));
    expect(watched.connection.indexOf('reconnecting')).toBeGreaterThan(watched.connection.indexOf('connected'));
    expect(watched.progress).toEqual([...watched.progress].sort((a, b) => a - b));
    await page
      .getByTestId('status')
      .filter({ hasText: /^COMPLETED/ })
      .waitFor();
  }, 90_000);
});
