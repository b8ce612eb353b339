/**
 * `node --import tsx bench/graphiql-page.ts [--checkout <dir>]… [--profiles <n>] [--env NAME=value]…
 * [--mbps <n>]`: what GraphiQL's page costs a browser (docs/performance.md, "GraphiQL's page").
 *
 * Starts the zero-config gateway of each `--checkout` (default: this one; add an older worktree to
 * compare with a version before a change), each behind a TCP proxy that counts the bytes the
 * gateway sends, and asks each for the page once (the first request of the process loads the
 * renderer). Then, `--profiles` times, for each checkout in turn (so that a machine busy with
 * something else slows both alike), opens a fresh Chromium profile for three visits: the first, a
 * repeat and a third (the HTTP cache and V8's code cache warm). Per visit it prints the time from
 * navigation to GraphiQL's query editor showing its first line and the bytes the gateway sent
 * until the network went quiet (the page, its files, the schema's introspection); then the
 * medians.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { type CDPSession, chromium } from 'playwright-core';

const { values } = parseArgs({
  options: {
    checkout: { type: 'string', multiple: true },
    profiles: { type: 'string', default: '5' },
    /** The gateways' configuration, `NAME=value` (e.g. `STAGE_MAX_RECORDS=10` for a starter without records). */
    env: { type: 'string', multiple: true, default: [] },
    /** Throttles the browser's network (Chromium's emulation): megabits a second each way, and 20 ms of latency. */
    mbps: { type: 'string' },
  },
});
const checkouts = values.checkout ?? [join(import.meta.dirname, '..')];
const VISITS = ['first', 'repeat', 'third'] as const;

interface Visit {
  ms: number;
  bytes: number;
}

interface Contender {
  name: string;
  gateway: ChildProcess;
  proxy: CountingProxy;
  url: string;
  visits: Record<(typeof VISITS)[number], Visit[]>;
}

async function main(): Promise<void> {
  const contenders: Contender[] = [];
  try {
    for (const checkout of checkouts) {
      const gateway = await startGateway(checkout);
      const proxy = await countingProxy(Number(new URL(gateway.url).port));
      const contender = {
        name: basename(checkout),
        gateway: gateway.process,
        proxy,
        url: `http://127.0.0.1:${proxy.port}/graphql`,
        visits: { first: [], repeat: [], third: [] },
      };
      contenders.push(contender);
      const started = performance.now();
      await (await fetch(contender.url, { headers: { accept: 'text/html' } })).arrayBuffer();
      console.log(`${contender.name}: first page request of the process: ${Math.round(performance.now() - started)} ms`);
    }
    for (let profile = 1; profile <= Number(values.profiles); profile++) {
      for (const contender of contenders) await visitThrice(contender, profile);
    }
    const median = (numbers: number[]) => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)]!;
    for (const contender of contenders) {
      for (const visit of VISITS) {
        const rows = contender.visits[visit];
        console.log(
          `${contender.name}, ${visit} visit, median of ${rows.length}: usable after ${median(rows.map((row) => row.ms))} ms, ` +
            `${(median(rows.map((row) => row.bytes)) / 1e6).toFixed(2)} MB`,
        );
      }
    }
  } finally {
    for (const { proxy, gateway } of contenders) {
      proxy.close();
      gateway.kill('SIGKILL');
    }
  }
}

async function visitThrice(contender: Contender, profile: number): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'graphiql-page-'));
  const context = await chromium.launchPersistentContext(directory, {
    executablePath: '/usr/bin/chromium',
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    if (values.mbps !== undefined) await throttle(await context.newCDPSession(page), Number(values.mbps));
    for (const visit of VISITS) {
      contender.proxy.sent = 0;
      const navigated = performance.now();
      await page.goto(contender.url, { waitUntil: 'commit' });
      await page.locator('.graphiql-query-editor .view-line').first().waitFor({ timeout: 60_000 });
      const ms = Math.round(performance.now() - navigated);
      // Not Playwright's networkidle: it waits forever on a worker's request it saw start but not end.
      // Monaco asks for its workers late (the schema's arrives first): a shorter quiet lets a loaded
      // machine count them in the next visit.
      await contender.proxy.quiet(2500);
      contender.visits[visit].push({ ms, bytes: contender.proxy.sent });
      console.log(`${contender.name}, profile ${profile}, ${visit} visit: usable after ${ms} ms, ${(contender.proxy.sent / 1e6).toFixed(2)} MB`);
    }
  } finally {
    await context.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

async function throttle(session: CDPSession, mbps: number): Promise<void> {
  const bytesPerSecond = (mbps * 1e6) / 8;
  await session.send('Network.enable');
  await session.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: bytesPerSecond, uploadThroughput: bytesPerSecond });
}

/**
 * `src/server.ts` of `directory` with nothing configured (the built-in simulator, GraphiQL with the
 * development credential) but a `DATA_DIR` of its own, removed when it exits.
 */
async function startGateway(directory: string): Promise<{ process: ChildProcess; url: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'graphiql-page-data-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: directory,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '',
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      ...Object.fromEntries(values.env.map((setting) => setting.split('=', 2))),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.once('exit', () => rmSync(dataDir, { recursive: true, force: true }));
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the gateway exited with ${code}`)));
    // pino's JSON lines; the one announcing the listener has the url.
    createInterface({ input: child.stdout! }).on('line', (text) => {
      const url = /"url":"([^"]+)"/.exec(text)?.[1];
      if (url) resolve(url);
    });
  });
  return { process: child, url };
}

interface CountingProxy {
  port: number;
  /** Bytes the gateway sent since this was last set to 0. */
  sent: number;
  /** Resolves once the gateway has sent nothing for `ms`. */
  quiet(ms: number): Promise<void>;
  close(): void;
}

/** A TCP proxy in front of `port` that counts the bytes coming back from it. */
async function countingProxy(port: number): Promise<CountingProxy> {
  let lastSent = performance.now();
  const counter: CountingProxy = {
    port: 0,
    sent: 0,
    async quiet(ms) {
      while (performance.now() - lastSent < ms) await new Promise((resolve) => setTimeout(resolve, Math.max(1, ms - (performance.now() - lastSent))));
    },
    close: () => server.close(),
  };
  const server = createServer((browser) => {
    const gateway = connect(port, '127.0.0.1');
    gateway.on('data', (chunk: Buffer) => {
      counter.sent += chunk.length;
      lastSent = performance.now();
    });
    browser.pipe(gateway).pipe(browser);
    browser.on('error', () => gateway.destroy());
    gateway.on('error', () => browser.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  counter.port = (server.address() as AddressInfo).port;
  return counter;
}

await main();
