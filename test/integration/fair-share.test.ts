import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import type { Client } from 'graphql-ws';
import { describe, expect, it, vi } from 'vitest';
import { ExecuteImportDocument, ImportStatusDocument, ImportSummaryDocument, InitiateImportDocument, StageImportDocument } from '../../operations/generated.js';
import { type Simulator, type SimulatorAccount, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { postGraphQL, queryText } from '../helpers/graphql.js';
import { startHttpFlood } from '../helpers/http-flood.js';
import { READ, startIdentityProvider, WRITE, writeAccountsFile } from '../helpers/identity-provider.js';
import { validRecord } from '../helpers/records.js';
import { wsClient } from '../helpers/ws-client.js';

/**
 * The probe of issue 25 (item 1) as a test, through real parts: the gateway on a port in jwt
 * mode, the simulator with two tenants, a graphql-ws subscription for `acme` on a running import,
 * acme's reads over HTTP, and a concurrent HTTP flood (from a process of its own) of reads of
 * evil's own import by a caller holding only a read token for `evil`:
 * - evil's upstream slowed or hanging (the simulator's per-tenant delay fault), 40 reads in flight;
 * - no fault, 30 workers each sending 10 aliased importSummary, again as soon as answered: one
 *   reader held to its rate, or readers who together want more than the upstream budget's rate;
 * - and a stalled answer, which holds evil's slot a bounded time and counts against evil.
 *
 * The measures, each taken quiet (acme alone) and then while evil floods:
 * - cadence: every change of acme's running import reaches its subscriber within one poll
 *   interval (the longest the ±10 % jitter allows, 220 ms) plus GAP_SLACK_MS;
 * - latency: every acme read succeeds; the median within 2× the quiet median plus P50_SLACK_MS,
 *   the p99 within 2× the quiet p99 plus P99_SLACK_MS.
 *
 * Margins, for a loaded 2-core machine (other test runs beside this one): at a load average of
 * 10–14 this process is descheduled for up to ~350 ms at a time, quiet or not, and more while the
 * flood's own process competes for the cores. So GAP_SLACK_MS = 700 ms on a 200 ms interval;
 * P50_SLACK_MS = 15 ms (when evil's callers want more than the whole rate, acme's reads wait for
 * their turn of it: ~8 ms); P99_SLACK_MS = 400 ms. Each phase reads 150–200 times, so the p99 is
 * not simply the slowest read. Before fair sharing (this file on main) each case was red: acme's
 * subscription got 0–2 of its 20 updates in 12 s (gaps of 9–12.6 s), its reads a median of
 * 100 ms (slowed) to 1.5 s (aliased floods), or every one BUDGET_EXHAUSTED (hanging); the stalled
 * read held its slot for the 30 s body timeout. After, quiet machine: gaps of 220–340 ms, medians
 * as quiet, p99 within 2× quiet (slowed: 4.6/8.7 → 4.3/13.9 ms); with two runs of this file at
 * once on the loaded machine: gaps up to 650 ms, medians 3–13 ms, p99 40–280 ms.
 */

const POLL_MS = 200;
/** The longest interval the poller may pick (+10 % jitter). */
const MAX_INTERVAL_MS = POLL_MS * 1.1;
const GAP_SLACK_MS = 700;
const P50_SLACK_MS = 15;
const P99_SLACK_MS = 400;
/** Before the fix a phase waits out its deadline (a stalled subscription): room to say so, not time out. */
const TEST_TIMEOUT_MS = 60_000;
/** Subscription updates each phase waits for (a phase is about K × 200 ms long). */
const UPDATES_PER_PHASE = 20;
/** acme reads about this often (two readers taking turns, each well inside its own rate limit). */
const READ_EVERY_MS = 20;

const tenant = (clientId: string): SimulatorAccount => ({
  clientId,
  credentials: [],
  oauthClients: [
    { clientId: `${clientId}-oauth-client`, clientSecret: `${clientId}-oauth-secret`, userId: 'ApiUser', label: `${clientId}-oauth`, canImport: true },
  ],
});

const serviceAccount = (simulator: Simulator, clientId: string) => ({
  tokenUrl: simulator.tokenUrl,
  clientId: `${clientId}-oauth-client`,
  clientSecret: `${clientId}-oauth-secret`,
  scope: `${clientId}/ApiUser`,
});

interface Watched {
  /** When each state arrived (performance.now()). */
  arrivals: number[];
  errors: unknown[];
}

/** Subscribes and timestamps every state as it arrives. */
function watch(client: Client, variables: Record<string, unknown>): Watched {
  const watched: Watched = { arrivals: [], errors: [] };
  client.subscribe<Record<string, any>>(
    { query: queryText(ImportStatusDocument), variables },
    {
      next: (result) => {
        if (result.errors) watched.errors.push(result.errors);
        else watched.arrivals.push(performance.now());
      },
      error: (error) => watched.errors.push(error),
      complete: () => {},
    },
  );
  return watched;
}

interface Phase {
  /** Each read's duration in ms. */
  latencies: number[];
  /** The codes of reads that failed. */
  failures: string[];
  /** The longest time between two states reaching the subscriber, the phase's start and end included. */
  maxGapMs: number;
  updates: number;
  /** The event loop's longest delay, and its p99, during the phase. */
  loopMaxMs: number;
  loopP99Ms: number;
}

const percentile = (values: readonly number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

describe('fair share of the upstream budget', () => {
  const cleanup = useCleanup();

  async function setup(env: Record<string, string> = {}) {
    // 25 records/s: every poll (180–220 ms apart) sees new records handled, so every poll is a change.
    const simulator = await startSimulator({ accounts: [tenant('acme'), tenant('evil')], recordsPerSecond: 25, queueDelayMs: 0 });
    cleanup(() => simulator.stop());
    const idp = await startIdentityProvider(cleanup);
    const accounts = writeAccountsFile(simulator, cleanup, {
      extra: { acme: serviceAccount(simulator, 'acme'), evil: serviceAccount(simulator, 'evil') },
    });
    const gateway = await startGateway(
      simulator.baseUrl,
      { ...idp.env(accounts), POLL_INTERVAL_MS: String(POLL_MS), IDLE_POLL_INTERVAL_MS: String(POLL_MS), ...env },
      cleanup,
    );
    const bearer = async (subject: string, clientId: string, scope: string) =>
      `Bearer ${await idp.mint({ claims: { sub: subject, mypreferences_clients: [clientId], scope } })}`;
    const acmeUser = await bearer('acme-operator', 'acme', `${READ} ${WRITE}`);
    // Two people at acme watching a dashboard, each reading every 2 × READ_EVERY_MS.
    const acmeReaders = [await bearer('acme-reader-1', 'acme', READ), await bearer('acme-reader-2', 'acme', READ)];
    // The probe's caller: a read token for evil, nothing more.
    const evilReader = await bearer('evil-reader', 'evil', READ);

    // acme's import runs for 80 s: 2,000 records at 25/s.
    const initiated = await postGraphQL(gateway.url, InitiateImportDocument, { clientId: 'acme', input: { name: 'acme nightly' } }, acmeUser);
    const acmeImport = { clientId: 'acme', accessToken: initiated.data!.initiateImport.accessToken };
    const records = Array.from({ length: 2_000 }, (_, i) => validRecord(i));
    expect((await postGraphQL(gateway.url, StageImportDocument, { ...acmeImport, records }, acmeUser)).errors).toBeUndefined();
    expect((await postGraphQL(gateway.url, ExecuteImportDocument, acmeImport, acmeUser)).errors).toBeUndefined();
    // evil's own import, which its reader floods with reads.
    const evilWriter = await bearer('evil-operator', 'evil', `${READ} ${WRITE}`);
    const evilInitiated = await postGraphQL(gateway.url, InitiateImportDocument, { clientId: 'evil', input: { name: 'evil' } }, evilWriter);
    const evilImport = { clientId: 'evil', accessToken: evilInitiated.data!.initiateImport.accessToken };

    const acmeClient = wsClient(gateway.wsUrl, { connectionParams: { authorization: acmeUser } }, cleanup);
    const subscription = watch(acmeClient, acmeImport);
    await vi.waitFor(() => expect(subscription.arrivals.length).toBeGreaterThanOrEqual(2), { timeout: 5_000, interval: 20 });
    // Warm-up: the first reads compile the paths they take.
    for (let i = 0; i < 10; i++) await postGraphQL(gateway.url, ImportSummaryDocument, acmeImport, acmeReaders[i % 2]);
    return { simulator, gateway, acmeClient, acmeReaders, evilReader, acmeImport, evilImport, subscription };
  }

  /**
   * acme reads its import every READ_EVERY_MS until its subscription has received
   * UPDATES_PER_PHASE more states, or (a stalled subscription) three times as long as that takes.
   */
  async function phase(gateway: RunningGateway, subscription: Watched, ref: Record<string, string>, readers: readonly string[]): Promise<Phase> {
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const startedAt = performance.now();
    const firstUpdate = subscription.arrivals.length;
    const deadline = startedAt + UPDATES_PER_PHASE * POLL_MS * 3;
    const latencies: number[] = [];
    const failures: string[] = [];
    while (subscription.arrivals.length < firstUpdate + UPDATES_PER_PHASE && performance.now() < deadline) {
      const started = performance.now();
      const response = await postGraphQL(gateway.url, ImportSummaryDocument, ref, readers[latencies.length % readers.length]);
      latencies.push(performance.now() - started);
      if (response.errors) failures.push(String(response.errors[0]?.extensions?.['code'] ?? response.errors[0]?.message));
      // Pacing the load (a dashboard's refresh), not waiting for anything.
      const rest = READ_EVERY_MS - (performance.now() - started);
      if (rest > 0) await delay(rest);
    }
    const endedAt = performance.now();
    loop.disable();
    const times = [subscription.arrivals[firstUpdate - 1] ?? startedAt, ...subscription.arrivals.slice(firstUpdate), endedAt];
    const gaps = times.slice(1).map((time, i) => time - times[i]!);
    return {
      latencies,
      failures,
      maxGapMs: Math.max(...gaps),
      updates: subscription.arrivals.length - firstUpdate,
      loopMaxMs: loop.max / 1e6,
      loopP99Ms: loop.percentile(99) / 1e6,
    };
  }

  const summaryOf = (phase: Phase) => ({
    reads: phase.latencies.length,
    p50: Math.round(percentile(phase.latencies, 50) * 10) / 10,
    p99: Math.round(percentile(phase.latencies, 99) * 10) / 10,
    maxGapMs: Math.round(phase.maxGapMs),
    updates: phase.updates,
    failures: phase.failures.length,
    loopMaxMs: Math.round(phase.loopMaxMs),
    loopP99Ms: Math.round(phase.loopP99Ms),
    slowest: [...phase.latencies]
      .sort((a, b) => b - a)
      .slice(0, 5)
      .map(Math.round),
  });

  /** evil's reader's flood: `workers` callers each sending `aliases` importSummary of evil's own import in one operation. */
  const evilFlood = (gateway: RunningGateway, evilReader: string, evilImport: { accessToken: string }, workers: number, aliases: number) => {
    const fields = Array.from({ length: aliases }, (_, i) => `a${i}: importSummary(clientId: "evil", accessToken: "${evilImport.accessToken}") { status }`);
    return startHttpFlood({ url: gateway.url, authorization: evilReader, body: { query: `{ ${fields.join(' ')} }` }, workers }, cleanup);
  };

  /** After the flood and the subscription are gone, no slot is held and no call waits: nothing leaked. */
  async function expectBudgetEmpty(gateway: RunningGateway) {
    await vi.waitFor(() => expect(gateway.gateway.upstream.stats()).toMatchObject({ inFlight: 0, waiting: 0 }), { timeout: 3_000, interval: 10 });
  }

  it.each([
    ['slowed to 1.5 s', 1_500],
    ['hanging', 10 * 60_000],
  ])(
    "acme's subscription keeps its cadence and its reads their latency while evil keeps 40 reads in flight, its upstream %s",
    async (_name, delayMs) => {
      const { simulator, gateway, acmeClient, acmeReaders, evilReader, acmeImport, evilImport, subscription } = await setup();
      const quiet = await phase(gateway, subscription, acmeImport, acmeReaders);

      // evil's upstream slows down (or hangs), and its reader keeps 40 reads in flight.
      simulator.faults.inject('status', { kind: 'delay', ms: delayMs }, Infinity, { match: { clientId: 'evil' } });
      const evil = evilFlood(gateway, evilReader, evilImport, 40, 1);
      await vi.waitFor(() => expect(gateway.gateway.upstream.stats().waiting).toBeGreaterThan(0), { timeout: 5_000, interval: 10 });
      const flooded = await phase(gateway, subscription, acmeImport, acmeReaders);
      // The slots evil holds: its share of the default 32, no more.
      const evilPeak = gateway.gateway.upstream.stats().inFlight;
      const tally = await evil.stop();
      await acmeClient.dispose();

      const report = { quiet: summaryOf(quiet), flooded: summaryOf(flooded), evilPeak, evil: tally };
      if (process.env['FAIR_SHARE_REPORT']) console.info(JSON.stringify(report));
      expect(subscription.errors).toEqual([]);
      expectFairShare(quiet, flooded, report);
      expect(evilPeak).toBeLessThanOrEqual(17); // evil's 16, and acme's poll or read
      // The aborted reads leave the queue and give back their slots at once, hanging upstream or not.
      await expectBudgetEmpty(gateway);
    },
    TEST_TIMEOUT_MS,
  );

  it.each([
    ['one reader of evil, held to its rate', {}],
    // As many of evil's callers as it takes, each within its own rate: together they want more than
    // the upstream budget's 200 calls a second, which evil then shares in turn with acme.
    ['readers of evil past the upstream rate, each within its own', { CALLER_RATE_LIMIT_BURST: '100000', CALLER_RATE_LIMIT_PER_SECOND: '100000' }],
  ])(
    "acme keeps its cadence and latency while 30 workers send 10 aliased importSummary of evil's import each, again as soon as answered: %s",
    async (name, env) => {
      const { gateway, acmeClient, acmeReaders, evilReader, acmeImport, evilImport, subscription } = await setup(env);
      const quiet = await phase(gateway, subscription, acmeImport, acmeReaders);

      const evil = evilFlood(gateway, evilReader, evilImport, 30, 10);
      await evil.reached((tally) => tally.answered > 0);
      const flooded = await phase(gateway, subscription, acmeImport, acmeReaders);
      const tally = await evil.stop();
      await acmeClient.dispose();

      const report = { quiet: summaryOf(quiet), flooded: summaryOf(flooded), evil: tally };
      if (process.env['FAIR_SHARE_REPORT']) console.info(JSON.stringify(report));
      expect(subscription.errors).toEqual([]);
      expectFairShare(quiet, flooded, report);
      // One reader was held to its rate: refused before any upstream call, told when to come back.
      if (name.startsWith('one')) expect(tally.codes['RATE_LIMITED retryAfterSeconds=1']).toBeGreaterThan(0);
      await expectBudgetEmpty(gateway);
    },
    TEST_TIMEOUT_MS,
  );

  it("a stalled answer holds its tenant's slot no longer than UPSTREAM_ATTEMPT_TIMEOUT_MS, and counts as that tenant's failure", async () => {
    const { simulator, gateway, acmeClient, acmeReaders, evilReader, acmeImport, evilImport } = await setup({
      UPSTREAM_ATTEMPT_TIMEOUT_MS: '300',
      UPSTREAM_RETRY_ATTEMPTS: '1',
      UPSTREAM_BREAKER_MIN_CALLS: '3',
    });
    // Headers, then half a body, then nothing: under UPSTREAM_BODY_TIMEOUT_MS (30 s) this would hold the slot for good.
    simulator.faults.inject('status', { kind: 'stall-body' }, Infinity, { match: { clientId: 'evil' } });
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      const stalled = await postGraphQL(gateway.url, ImportSummaryDocument, evilImport, evilReader);
      expect(stalled.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason: 'TIMEOUT' });
      expect(performance.now() - started).toBeGreaterThanOrEqual(280);
      expect(performance.now() - started).toBeLessThan(5_000);
    }
    // evil's failures are evil's: its circuit opens, acme's stays closed and its reads go on.
    expect(gateway.gateway.upstream.stats().circuits.get('evil')).toBe('open');
    expect(gateway.gateway.upstream.stats().circuits.get('acme') ?? 'closed').toBe('closed');
    const refused = await postGraphQL(gateway.url, ImportSummaryDocument, evilImport, evilReader);
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason: 'CIRCUIT_OPEN' });
    expect((await postGraphQL(gateway.url, ImportSummaryDocument, acmeImport, acmeReaders[0])).errors).toBeUndefined();
    await acmeClient.dispose();
    await expectBudgetEmpty(gateway);
  });

  function expectFairShare(quiet: Phase, flooded: Phase, report: unknown) {
    const said = JSON.stringify(report);
    expect(quiet.failures, said).toEqual([]);
    expect(quiet.maxGapMs, said).toBeLessThanOrEqual(MAX_INTERVAL_MS + GAP_SLACK_MS);
    expect(flooded.failures, said).toEqual([]);
    expect(flooded.updates, said).toBeGreaterThanOrEqual(UPDATES_PER_PHASE);
    expect(flooded.maxGapMs, said).toBeLessThanOrEqual(MAX_INTERVAL_MS + GAP_SLACK_MS);
    expect(percentile(flooded.latencies, 50), said).toBeLessThanOrEqual(2 * percentile(quiet.latencies, 50) + P50_SLACK_MS);
    expect(percentile(flooded.latencies, 99), said).toBeLessThanOrEqual(2 * percentile(quiet.latencies, 99) + P99_SLACK_MS);
  }
});
