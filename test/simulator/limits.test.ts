import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { DEFAULT_IMPORT_SETTINGS, LIMITS } from '../../src/mypreferences-contract.js';
import { resolveAccounts } from '../../src/simulator/accounts.js';
import { DEMO_ACCOUNT } from '../../src/simulator/index.js';
import { ImportStore } from '../../src/simulator/store.js';
import { client, IMPORT_AUTH, ManualClock, rawRequest, useSimulators, validRecords } from './helpers.js';

const start = useSimulators();

describe('the daily import quota', () => {
  it('answers 429 with Retry-After once the rolling window is full, and recovers as it rolls', async () => {
    const clock = new ManualClock();
    const simulator = await start({ clock, accounts: [{ ...DEMO_ACCOUNT, dailyImportQuota: 2 }] });
    const api = client(simulator);
    const t0 = clock.t;
    expect((await api.initiate()).status).toBe(200);
    // Refused Initiates do not count: only successful ones are import requests.
    expect((await api.initiate({})).status).toBe(400);
    clock.advance(1_000);
    expect((await api.initiate()).status).toBe(200);

    clock.advance(4_000);
    const refused = await api.initiate();
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ Message: expect.any(String) });
    expect(refused.headers.get('retry-after')).toBe(String((LIMITS.quotaWindowMs - 5_000) / 1000));

    clock.t = t0 + LIMITS.quotaWindowMs - 1;
    const almost = await api.initiate();
    expect(almost.status).toBe(429);
    expect(almost.headers.get('retry-after')).toBe('1'); // 1 ms left rounds up to a whole second

    clock.t = t0 + LIMITS.quotaWindowMs; // the first Initiate leaves the window
    expect((await api.initiate()).status).toBe(200);
    const again = await api.initiate();
    expect(again.status).toBe(429);
    expect(again.headers.get('retry-after')).toBe('1'); // the second leaves 1,000 ms later
  });

  it('checks the credential before the quota', async () => {
    const simulator = await start({ accounts: [{ ...DEMO_ACCOUNT, dailyImportQuota: 0 }] });
    expect((await client(simulator, { auth: 'Bearer wrong' }).initiate()).status).toBe(401);
    expect((await client(simulator).initiate()).status).toBe(429);
  });
});

describe('the Stage size limit', () => {
  it('answers 413 to a body over maxStageBytes and keeps the connection usable', async () => {
    const simulator = await start({ accounts: [{ ...DEMO_ACCOUNT, maxStageBytes: 1_000 }] });
    const api = client(simulator);
    const token = (await api.initiate()).body.AccessToken as number;

    const small = { UserProfilePreferences: validRecords(5) };
    expect(JSON.stringify(small).length).toBeLessThan(1_000);
    expect((await api.stage(token, small)).status).toBe(200);

    const large = { UserProfilePreferences: validRecords(500) };
    const refused = await api.stage(token, large);
    expect(refused.status).toBe(413);
    expect(refused.body).toEqual({ Message: expect.any(String) });
    expect((await api.status(token)).body).toMatchObject({ TotalRecordsReceived: 5 });
  });

  it('answers 413 over a raw connection that writes the whole body', async () => {
    const simulator = await start({ accounts: [{ ...DEMO_ACCOUNT, maxStageBytes: 1_000 }] });
    const token = (await client(simulator).initiate()).body.AccessToken as number;
    const body = JSON.stringify({ UserProfilePreferences: validRecords(20_000) }); // ~1 MB
    const answer = await rawRequest(simulator.port, 'POST', `/Profiles/Async/demo/Import/${token}/Stage`, { authorization: IMPORT_AUTH }, body);
    expect(answer.status).toBe(413);
  });

  it('destroys the connection of a body past the hard maximum plus 1 MB instead of draining it forever', async () => {
    const simulator = await start();
    const token = (await client(simulator).initiate()).body.AccessToken as number;
    const outcome = await new Promise<string>((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: simulator.port,
          method: 'POST',
          path: `/Profiles/Async/demo/Import/${token}/Stage`,
          headers: { authorization: IMPORT_AUTH },
          agent: false,
        },
        (res) => resolve(`answered ${res.statusCode}`),
      );
      req.on('error', () => resolve('reset'));
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      let sent = 0;
      const pump = (): void => {
        while (sent < LIMITS.stageBytesHardMax + 4 * 1024 * 1024) {
          sent += chunk.length;
          if (!req.write(chunk)) {
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      pump();
    });
    expect(outcome).toBe('reset');
  });

  it('never lets an account go over the hard maximum', () => {
    const accounts = resolveAccounts([{ ...DEMO_ACCOUNT, maxStageBytes: LIMITS.stageBytesHardMax * 2 }]);
    expect(accounts.get('demo')?.maxStageBytes).toBe(LIMITS.stageBytesHardMax);
    expect(resolveAccounts([DEMO_ACCOUNT]).get('demo')?.maxStageBytes).toBe(LIMITS.stageBytesDefault);
  });
});

describe('the per-import record limit', () => {
  it('refuses a batch that would take the import over the limit, whole', () => {
    const store = new ImportStore(resolveAccounts([DEMO_ACCOUNT]), { tokenLifetimeMs: 60_000, maxRecordsPerImport: 5 });
    const account = store.account('demo')!;
    const imp = store.initiate(account, { ...settings }, 0);
    expect(store.stage(imp, validRecords(3))).toEqual({ ok: true });
    expect(store.stage(imp, validRecords(3))).toEqual({ ok: false, message: expect.any(String) });
    expect(imp.received).toBe(3);
    expect(store.stage(imp, validRecords(2))).toEqual({ ok: true });
    expect(imp.received).toBe(5);
  });
});

describe('account options', () => {
  it('refuses invalid accounts and options at start', async () => {
    await expect(start({ accounts: [DEMO_ACCOUNT, DEMO_ACCOUNT] })).rejects.toThrow(/twice/);
    await expect(start({ accounts: [{ ...DEMO_ACCOUNT, dailyImportQuota: -1 }] })).rejects.toThrow(RangeError);
    await expect(start({ recordsPerSecond: 0 })).rejects.toThrow(/recordsPerSecond/);
    await expect(start({ port: 70_000 })).rejects.toThrow(/port/);
  });
});

const settings = { Name: 'n', ...DEFAULT_IMPORT_SETTINGS };
