import { Agent, request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { DEMO_ACCOUNT, DEMO_OAUTH_CLIENT, type FaultMatch, type FaultRoute, type RandomFailures, type Simulator } from '../../src/simulator/index.js';
import { mulberry32 } from '../../src/simulator/random.js';
import { basicAuth, client, IMPORT_AUTH, issueToken, ManualClock, READONLY_AUTH, rawRequest, tokenRequest, useSimulators, validRecords } from './helpers.js';

const start = useSimulators();

/** HTTP Basic authentication of the demo OAuth client at the token endpoint. */
const demoBasic = (): Record<string, string> => ({ authorization: basicAuth(DEMO_OAUTH_CLIENT.clientId, DEMO_OAUTH_CLIENT.clientSecret) });

describe('fault injection', () => {
  it('answers a status fault with its status, body and headers, then recovers', async () => {
    const simulator = await start();
    const api = client(simulator);
    simulator.faults.inject('initiate', { kind: 'status', status: 503, body: { Message: 'Down for maintenance' }, headers: { 'Retry-After': '7' } });
    const faulted = await api.initiate();
    expect(faulted.status).toBe(503);
    expect(faulted.body).toEqual({ Message: 'Down for maintenance' });
    expect(faulted.headers.get('retry-after')).toBe('7');
    expect(faulted.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect((await api.initiate()).status).toBe(200);

    simulator.faults.inject('initiate', { kind: 'status', status: 500 });
    const defaulted = await api.initiate();
    expect(defaulted.status).toBe(500);
    expect(defaulted.body).toEqual({ Message: expect.any(String) });
  });

  it('applies a fault to the next `times` requests of its route only, first in first out', async () => {
    const simulator = await start();
    const api = client(simulator);
    const token = (await api.initiate()).body.AccessToken as number;
    simulator.faults.inject('status', { kind: 'status', status: 503 }, 2);
    simulator.faults.inject('status', { kind: 'status', status: 429, headers: { 'Retry-After': '3' } });
    expect((await api.exceptions(token)).status).toBe(200); // another route: untouched
    expect((await api.status(token)).status).toBe(503);
    expect((await api.status(token)).status).toBe(503);
    const limited = await api.status(token);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    expect((await api.status(token)).status).toBe(200);
  });

  it('applies a `*` fault to any route, Infinity times, until cleared', async () => {
    const simulator = await start();
    const api = client(simulator);
    simulator.faults.inject('*', { kind: 'status', status: 502 }, Infinity);
    expect((await api.initiate()).status).toBe(502);
    expect((await api.status(1000)).status).toBe(502);
    expect((await api.exceptions(1000)).status).toBe(502);
    simulator.faults.clear();
    expect((await api.initiate()).status).toBe(200);
  });

  it('applies faults after routing and before the checks (an unknown path is never faulted)', async () => {
    const simulator = await start();
    simulator.faults.inject('*', { kind: 'status', status: 503 });
    expect((await rawRequest(simulator.port, 'GET', '/Profiles/nowhere')).status).toBe(404);
    // No credential at all, yet the fault answers: it comes before the checks.
    expect((await client(simulator, { auth: null }).initiate()).status).toBe(503);
  });

  it('refuses invalid faults', async () => {
    const simulator = await start();
    expect(() => simulator.faults.inject('nowhere' as never, { kind: 'reset' })).toThrow(TypeError);
    expect(() => simulator.faults.inject('token', { kind: 'reset' })).not.toThrow();
    expect(() => simulator.faults.inject('*', { kind: 'boom' } as never)).toThrow(TypeError);
    expect(() => simulator.faults.inject('*', { kind: 'reset' }, 0)).toThrow(RangeError);
    expect(() => simulator.faults.inject('*', { kind: 'delay', ms: -1 })).toThrow(RangeError);
  });

  it('delays a response, then answers normally', async () => {
    const simulator = await start();
    simulator.faults.inject('initiate', { kind: 'delay', ms: 40 });
    const before = performance.now();
    const answer = await client(simulator).initiate();
    expect(answer.status).toBe(200);
    expect(performance.now() - before).toBeGreaterThanOrEqual(35);
  });

  it('resets the connection without a response', async () => {
    const simulator = await start();
    simulator.faults.inject('initiate', { kind: 'reset' });
    const logged = simulator.requests.waitFor((entry) => entry.route === 'initiate');
    await expect(client(simulator).initiate()).rejects.toThrow();
    expect(await logged).toMatchObject({ route: 'initiate', status: null, credentialLabel: 'demo-import' });
    expect((await client(simulator).initiate()).status).toBe(200);
    expect(simulator.requests.count('initiate')).toBe(2); // the client did not retry behind our back
  });

  it('sends a malformed JSON body with status 200', async () => {
    const simulator = await start();
    simulator.faults.inject('status', { kind: 'malformed' });
    const response = await fetch(`${simulator.baseUrl}Async/demo/Import/1000/Status`, { headers: { authorization: IMPORT_AUTH } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const text = await response.text();
    expect(() => JSON.parse(text)).toThrow();
  });

  it('stalls a body after the headers until the reader gives up', async () => {
    const simulator = await start();
    simulator.faults.inject('status', { kind: 'stall-body' });
    const controller = new AbortController();
    const response = await fetch(`${simulator.baseUrl}Async/demo/Import/1000/Status`, {
      headers: { authorization: IMPORT_AUTH },
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    const rest = reader.read();
    controller.abort();
    await expect(rest).rejects.toThrow();
  });
});

describe('faults after the route acted', () => {
  it('executes the import, then resets instead of answering: Execute done, response lost', async () => {
    const clock = new ManualClock();
    const simulator = await start({ clock });
    const api = client(simulator);
    const token = (await api.initiate()).body.AccessToken as number;
    expect((await api.stageRecords(token, validRecords(10))).status).toBe(200);
    simulator.faults.inject('execute', { kind: 'reset' }, 1, { after: true });
    const logged = simulator.requests.waitFor((entry) => entry.route === 'execute');
    await expect(api.execute(token)).rejects.toThrow();
    expect(await logged).toMatchObject({ route: 'execute', status: null, credentialLabel: 'demo-import' });

    expect((await api.status(token)).body).toMatchObject({ Status: 'Queued', TotalRecordsReceived: 10 });
    clock.advance(501);
    expect((await api.status(token)).body).toMatchObject({ Status: 'Processing' });
    // The retry the gateway may send meets an executed import, and the fault is used up.
    expect((await api.execute(token)).status).toBe(400);
  });

  it('sends an after status fault instead of the real answer, whatever it was, once the change is made', async () => {
    const simulator = await start();
    const api = client(simulator);
    const token = (await api.initiate()).body.AccessToken as number;
    simulator.faults.inject('stage', { kind: 'status', status: 503, headers: { 'Retry-After': '2' } }, 1, { after: true });
    const staged = await api.stageRecords(token, validRecords(3));
    expect(staged.status).toBe(503);
    expect(staged.body).toEqual({ Message: expect.any(String) });
    expect(staged.headers.get('retry-after')).toBe('2');
    expect((await api.status(token)).body).toMatchObject({ Status: 'Staging', TotalRecordsReceived: 3 });

    // A token issued and its answer replaced: the service counts it, the client never saw it.
    simulator.faults.inject('token', { kind: 'status', status: 502 }, 1, { after: true });
    expect((await tokenRequest(simulator, { grant_type: 'client_credentials' }, demoBasic())).status).toBe(502);
    expect(simulator.tokensIssued).toBe(1);

    // An error answer is replaced too: the fault is about the response, not about success.
    simulator.faults.inject('status', { kind: 'status', status: 500 }, 1, { after: true });
    expect((await client(simulator, { auth: READONLY_AUTH }).status(token)).status).toBe(500);
    expect(simulator.requests.entries.at(-1)).toMatchObject({ route: 'status', status: 500 });
  });

  it('cuts the real answer in half for malformed, keeping its status and headers', async () => {
    const simulator = await start();
    const api = client(simulator);
    const token = (await api.initiate()).body.AccessToken as number;
    await api.stageRecords(token, validRecords(2));
    simulator.faults.inject('execute', { kind: 'malformed' }, 1, { after: true });
    const executed = await rawRequest(simulator.port, 'POST', `/Profiles/Async/demo/Import/${token}/Execute`, { authorization: IMPORT_AUTH });
    expect(executed.status).toBe(200);
    expect(executed.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(executed.text).toMatch(/^\{"TotalRecordsReceived":2,/);
    expect(() => JSON.parse(executed.text)).toThrow();
    expect((await api.status(token)).body).toMatchObject({ Status: 'Queued' });

    simulator.faults.inject('status', { kind: 'malformed' }, 1, { after: true });
    const refused = await rawRequest(simulator.port, 'GET', `/Profiles/Async/demo/Import/${token}/Status`);
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toBe('Bearer');
    expect(refused.text).toMatch(/^\{"Message":"Auth/);
    expect(() => JSON.parse(refused.text)).toThrow();
  });

  it('stalls the real answer halfway for stall-body, the change made', async () => {
    const simulator = await start();
    const api = client(simulator);
    const token = (await api.initiate()).body.AccessToken as number;
    await api.stageRecords(token, validRecords(2));
    simulator.faults.inject('execute', { kind: 'stall-body' }, 1, { after: true });
    const controller = new AbortController();
    const response = await fetch(`${simulator.baseUrl}Async/demo/Import/${token}/Execute`, {
      method: 'POST',
      headers: { authorization: IMPORT_AUTH },
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toMatch(/^\{"TotalRecordsReceived":2,/);
    const rest = reader.read();
    controller.abort();
    await expect(rest).rejects.toThrow();
    expect((await api.status(token)).body).toMatchObject({ Status: 'Queued' });
  });

  it('refuses a delay after the route, and after or match written into the fault', async () => {
    const simulator = await start();
    expect(() => simulator.faults.inject('execute', { kind: 'delay', ms: 10 }, 1, { after: true })).toThrow(TypeError);
    expect(() => simulator.faults.inject('execute', { kind: 'delay', ms: 10 }, 1, { after: false })).not.toThrow();
    expect(() => simulator.faults.inject('execute', { kind: 'reset', after: true } as never)).toThrow(/options/);
    expect(() => simulator.faults.inject('execute', { kind: 'reset', match: { clientId: 'demo' } } as never)).toThrow(/options/);
    expect(() => simulator.faults.inject('execute', { kind: 'reset' }, 1, { after: 'yes' } as never)).toThrow(TypeError);
    expect(() => simulator.faults.inject('execute', { kind: 'reset' }, 1, { afterwards: true } as never)).toThrow(TypeError);
  });
});

describe('targeted faults', () => {
  it('apply to the requests of one import only, and only those use them up', async () => {
    const simulator = await start();
    const api = client(simulator);
    const target = (await api.initiate()).body.AccessToken as number;
    const other = (await api.initiate()).body.AccessToken as number;
    simulator.faults.inject('*', { kind: 'status', status: 503 }, 2, { match: { accessToken: target } });
    expect((await api.status(other)).status).toBe(200);
    expect((await api.exceptions(other)).status).toBe(200);
    expect((await api.initiate()).status).toBe(200); // no access token in its path
    expect((await api.status(target)).status).toBe(503);
    expect((await api.status(other)).status).toBe(200);
    expect((await api.exceptions(target)).status).toBe(503);
    expect((await api.status(target)).status).toBe(200); // both times used up by the target
    expect((await api.status(other)).status).toBe(200);
  });

  it('keep first-in-first-out order among the faults that match a request', async () => {
    const simulator = await start();
    const api = client(simulator);
    const target = (await api.initiate()).body.AccessToken as number;
    const other = (await api.initiate()).body.AccessToken as number;
    simulator.faults.inject('status', { kind: 'status', status: 503 }, 1, { match: { accessToken: target } });
    simulator.faults.inject('status', { kind: 'status', status: 429 });
    simulator.faults.inject('status', { kind: 'status', status: 500 }, 1, { match: { clientId: 'demo', accessToken: target } });
    expect((await api.status(other)).status).toBe(429); // the targeted fault before it is skipped, not used
    expect((await api.status(target)).status).toBe(503);
    expect((await api.status(target)).status).toBe(500);
    expect((await api.status(target)).status).toBe(200);
    expect((await api.status(other)).status).toBe(200);
  });

  it('match the client id decoded, as the route reads it', async () => {
    const other = { clientId: 'other', credentials: [{ value: 'Bearer other-token', label: 'other-import', canImport: true }] };
    const simulator = await start({ accounts: [DEMO_ACCOUNT, other] });
    simulator.faults.inject('initiate', { kind: 'status', status: 503 }, Infinity, { match: { clientId: 'other' } });
    expect((await client(simulator).initiate()).status).toBe(200);
    expect((await client(simulator, { clientId: 'other', auth: 'Bearer other-token' }).initiate()).status).toBe(503);
    const encoded = await rawRequest(simulator.port, 'POST', '/Profiles/Async/%6Fther/Import', { authorization: 'Bearer other-token' }, '{"Name":"x"}');
    expect(encoded.status).toBe(503);
    expect((await client(simulator).initiate()).status).toBe(200);
  });

  it('combine with after: one import executed and its answer lost, the other untouched', async () => {
    const simulator = await start();
    const api = client(simulator);
    const target = (await api.initiate()).body.AccessToken as number;
    const other = (await api.initiate()).body.AccessToken as number;
    await api.stageRecords(target, validRecords(1));
    await api.stageRecords(other, validRecords(1, 1));
    simulator.faults.inject('execute', { kind: 'reset' }, Infinity, { after: true, match: { accessToken: target } });
    expect((await api.execute(other)).body).toMatchObject({ Status: 'Queued' });
    await expect(api.execute(target)).rejects.toThrow();
    expect((await api.status(target)).body).toMatchObject({ Status: 'Queued' });
  });

  it('refuse a match that is malformed or could never apply to its route', async () => {
    const simulator = await start();
    const inject = (route: FaultRoute, match: unknown): void => simulator.faults.inject(route, { kind: 'reset' }, 1, { match: match as FaultMatch });
    expect(() => inject('status', { accessToken: 1000 })).not.toThrow();
    expect(() => inject('*', { clientId: 'demo' })).not.toThrow();
    expect(() => inject('token', { clientId: 'demo' })).toThrow(TypeError);
    expect(() => inject('initiate', { accessToken: 1000 })).toThrow(TypeError);
    expect(() => inject('status', {})).toThrow(TypeError);
    expect(() => inject('status', { clientID: 'demo' })).toThrow(TypeError);
    expect(() => inject('status', { clientId: '' })).toThrow(TypeError);
    expect(() => inject('status', { accessToken: 0 })).toThrow(RangeError);
    expect(() => inject('status', { accessToken: '1000' })).toThrow(RangeError);
    expect(() => inject('status', null)).toThrow(TypeError);
  });
});

describe('random failures', () => {
  /** The statuses of `n` Status requests of `token`, in order. */
  const statuses = async (api: ReturnType<typeof client>, token: number, n: number): Promise<number[]> => {
    const seen: number[] = [];
    for (let index = 0; index < n; index += 1) seen.push((await api.status(token)).status);
    return seen;
  };

  it('fail about `rate` of the requests, the same ones again for the same seed, none at rate 0', async () => {
    const simulator = await start();
    const api = client(simulator);
    const token = (await api.initiate()).body.AccessToken as number;
    simulator.faults.randomFailures({ route: '*', rate: 0.5, seed: 7 });
    const first = await statuses(api, token, 200);
    expect(new Set(first)).toEqual(new Set([200, 503]));
    const failed = first.filter((status) => status === 503).length;
    expect(failed).toBeGreaterThanOrEqual(70);
    expect(failed).toBeLessThanOrEqual(130);

    simulator.faults.randomFailures({ route: '*', rate: 0.5, seed: 7 });
    expect(await statuses(api, token, 200)).toEqual(first);
    simulator.faults.randomFailures({ route: '*', rate: 0.5, seed: 8 });
    expect(await statuses(api, token, 200)).not.toEqual(first);

    simulator.faults.randomFailures({ route: '*', rate: 0 });
    expect(await statuses(api, token, 200)).toEqual(Array.from({ length: 200 }, () => 200));
  });

  it('answer their status before the route runs, on their route only', async () => {
    const simulator = await start();
    const api = client(simulator);
    const token = (await api.initiate()).body.AccessToken as number;
    simulator.faults.randomFailures({ route: 'execute', rate: 1, status: 500 });
    const failed = await api.execute(token);
    expect(failed.status).toBe(500);
    expect(failed.body).toEqual({ Message: expect.stringMatching(/random/) });
    expect((await api.status(token)).body).toMatchObject({ Status: 'Initiated' }); // nothing was executed
    expect((await api.initiate()).status).toBe(200);
  });

  it('come after queued faults, which do not advance the seeded sequence', async () => {
    const simulator = await start();
    const api = client(simulator);
    const token = (await api.initiate()).body.AccessToken as number;
    simulator.faults.randomFailures({ route: 'status', rate: 0.5, seed: 42 });
    const expected = await statuses(api, token, 20);

    simulator.faults.randomFailures({ route: 'status', rate: 0.5, seed: 42 });
    simulator.faults.inject('status', { kind: 'status', status: 429 }, 2);
    expect(await statuses(api, token, 22)).toEqual([429, 429, ...expected]);

    simulator.faults.randomFailures({ route: 'status', rate: 1 });
    simulator.faults.inject('status', { kind: 'reset' }, 1, { after: true });
    await expect(api.status(token)).rejects.toThrow(); // the queued fault, not the rate
    expect((await api.status(token)).status).toBe(503);
  });

  it('are turned off by clear(), which leaves OAuth tokens alone', async () => {
    const simulator = await start();
    const bearer = client(simulator, { auth: `Bearer ${await issueToken(simulator)}` });
    const token = (await bearer.initiate()).body.AccessToken as number;
    simulator.faults.randomFailures({ route: '*', rate: 1 });
    simulator.faults.inject('status', { kind: 'reset' }, Infinity);
    expect((await bearer.exceptions(token)).status).toBe(503);
    simulator.faults.clear();
    expect((await bearer.status(token)).status).toBe(200); // neither the queued fault nor the rate, and the token still works
    expect(simulator.tokensIssued).toBe(1);
    expect(simulator.expireTokens()).toBe(1); // clear() revoked nothing
  });

  it('refuse invalid settings', async () => {
    const simulator = await start();
    const set = (options: unknown): void => simulator.faults.randomFailures(options as RandomFailures);
    expect(() => set({ route: 'status', rate: 1, status: 429, seed: -3 })).not.toThrow();
    expect(() => set({ route: 'nowhere', rate: 0.1 })).toThrow(TypeError);
    expect(() => set({ rate: 0.1 })).toThrow(TypeError);
    for (const rate of [-0.1, 1.5, Number.NaN, '0.1', undefined]) expect(() => set({ route: '*', rate })).toThrow(RangeError);
    for (const status of [200, 399, 600, 503.5]) expect(() => set({ route: '*', rate: 0.1, status })).toThrow(RangeError);
    expect(() => set({ route: '*', rate: 0.1, seed: 1.5 })).toThrow(RangeError);
    expect(() => set({ route: '*', rate: 0.1, sead: 1 })).toThrow(TypeError);
    expect(() => set(null)).toThrow(TypeError);
  });

  it('draw from mulberry32: in [0, 1), repeatable per seed', () => {
    const draw = (seed: number): number[] => Array.from({ length: 5 }, mulberry32(seed));
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    expect(draw(7).every((value) => value >= 0 && value < 1)).toBe(true);
  });
});

describe('the request log', () => {
  it('records route, method, raw path, status, credential label and clock time; never the credential', async () => {
    const clock = new ManualClock();
    const simulator = await start({ clock });
    const api = client(simulator);
    const token = (await api.initiate()).body.AccessToken as number;
    clock.advance(5);
    await client(simulator, { prefix: 'v4/' }).status(token);
    await client(simulator, { auth: READONLY_AUTH }).status(token);
    await client(simulator, { auth: 'Bearer guess' }).status(token);
    await rawRequest(simulator.port, 'GET', '/Profiles/Async/d%65mo/Import/1000/Exceptions?limit=5&offset=%31');
    await rawRequest(simulator.port, 'DELETE', '/nowhere?x=1');

    expect(simulator.requests.entries).toEqual([
      { route: 'initiate', method: 'POST', rawPath: '/Profiles/Async/demo/Import', status: 200, credentialLabel: 'demo-import', at: clock.t - 5 },
      { route: 'status', method: 'GET', rawPath: `/Profiles/v4/Async/demo/Import/${token}/Status`, status: 200, credentialLabel: 'demo-import', at: clock.t },
      { route: 'status', method: 'GET', rawPath: `/Profiles/Async/demo/Import/${token}/Status`, status: 403, credentialLabel: 'demo-readonly', at: clock.t },
      { route: 'status', method: 'GET', rawPath: `/Profiles/Async/demo/Import/${token}/Status`, status: 401, credentialLabel: null, at: clock.t },
      {
        route: 'exceptions',
        method: 'GET',
        rawPath: '/Profiles/Async/d%65mo/Import/1000/Exceptions?limit=5&offset=%31',
        status: 401,
        credentialLabel: null,
        at: clock.t,
      },
      { route: null, method: 'DELETE', rawPath: '/nowhere?x=1', status: 404, credentialLabel: null, at: clock.t },
    ]);
    expect(simulator.requests.count()).toBe(6);
    expect(simulator.requests.count('status')).toBe(3);
    expect(simulator.requests.count('stage')).toBe(0);
    const everything = JSON.stringify(simulator.requests.entries);
    expect(everything).not.toContain('demo-import-token');
    expect(everything).not.toContain('demo-readonly-token');
    expect(everything).not.toContain('guess');

    simulator.requests.reset();
    expect(simulator.requests.entries).toEqual([]);
    expect(simulator.requests.count()).toBe(0);
  });

  it('waitFor resolves on the next matching entry only', async () => {
    const simulator = await start();
    const api = client(simulator);
    await api.initiate();
    const nextInitiate = simulator.requests.waitFor((entry) => entry.route === 'initiate');
    const firstExecute = simulator.requests.waitFor((entry) => entry.route === 'execute');
    await api.status(1000);
    const second = await api.initiate();
    expect(await nextInitiate).toMatchObject({ route: 'initiate', status: 200 });
    void api.execute(second.body.AccessToken as number);
    expect(await firstExecute).toMatchObject({ route: 'execute', status: 200 });
  });

  it('keeps the last 10,000 entries but counts them all', async () => {
    const { MemoryRequestLog, REQUEST_LOG_CAPACITY } = await import('../../src/simulator/request-log.js');
    const log = new MemoryRequestLog();
    for (let index = 0; index < REQUEST_LOG_CAPACITY + 5; index += 1) {
      log.record({ route: 'status', method: 'GET', rawPath: `/${index}`, status: 200, credentialLabel: null, at: index });
    }
    expect(log.entries).toHaveLength(REQUEST_LOG_CAPACITY);
    expect(log.entries[0]?.rawPath).toBe('/5');
    expect(log.count('status')).toBe(REQUEST_LOG_CAPACITY + 5);
  });
});

describe('control routes', () => {
  it('answer 404 unless enabled', async () => {
    const simulator = await start();
    for (const [method, path] of [
      ['POST', '/__simulator/faults'],
      ['DELETE', '/__simulator/faults'],
      ['GET', '/__simulator/requests'],
      ['POST', '/__simulator/reset-requests'],
      ['POST', '/__simulator/random-failures'],
    ] as const) {
      expect((await rawRequest(simulator.port, method, path, {}, '{"route":"*","fault":{"kind":"reset"}}')).status).toBe(404);
    }
    expect((await client(simulator).initiate()).status).toBe(200);
  });

  it('inject and clear faults, report and reset the request log when enabled', async () => {
    const simulator = await start({ controlRoutes: true });
    const control = new URL('/__simulator/', simulator.baseUrl);
    const api = client(simulator);

    const injected = await fetch(new URL('faults', control), {
      method: 'POST',
      body: JSON.stringify({ route: 'initiate', fault: { kind: 'status', status: 503 }, times: 2 }),
    });
    expect(injected.status).toBe(200);
    expect(await injected.json()).toEqual({ route: 'initiate', fault: { kind: 'status', status: 503 }, times: 2 });
    expect((await api.initiate()).status).toBe(503);

    expect((await fetch(new URL('faults', control), { method: 'DELETE' })).status).toBe(200);
    expect((await api.initiate()).status).toBe(200);

    const infinite = await fetch(new URL('faults', control), {
      method: 'POST',
      body: JSON.stringify({ route: '*', fault: { kind: 'status', status: 502 }, times: 'Infinity' }),
    });
    expect(await infinite.json()).toMatchObject({ times: 'Infinity' });
    expect((await api.status(1)).status).toBe(502);
    expect((await api.status(1)).status).toBe(502);
    await fetch(new URL('faults', control), { method: 'DELETE' });

    // The token endpoint is a fault route too, and counted.
    const tokenFault = await fetch(new URL('faults', control), {
      method: 'POST',
      body: JSON.stringify({ route: 'token', fault: { kind: 'status', status: 503 } }),
    });
    expect(await tokenFault.json()).toEqual({ route: 'token', fault: { kind: 'status', status: 503 }, times: 1 });
    const grant = { grant_type: 'client_credentials' };
    const basic = { authorization: basicAuth(DEMO_OAUTH_CLIENT.clientId, DEMO_OAUTH_CLIENT.clientSecret) };
    expect((await tokenRequest(simulator, grant, basic)).status).toBe(503);
    const issued = await tokenRequest(simulator, grant, basic);
    expect(issued.status).toBe(200);

    const report = await (await fetch(new URL('requests', control))).json();
    expect(report).toEqual({
      counts: { initiate: 2, stage: 0, execute: 0, status: 2, exceptions: 0, token: 2 },
      total: 6,
      entries: simulator.requests.entries.map((entry) => ({ ...entry })),
    });
    expect(JSON.stringify(report)).not.toContain('demo-import-token');
    expect(JSON.stringify(report)).not.toContain(issued.body.access_token);
    expect(JSON.stringify(report)).not.toContain(DEMO_OAUTH_CLIENT.clientSecret);

    expect((await fetch(new URL('reset-requests', control), { method: 'POST' })).status).toBe(200);
    expect(simulator.requests.count()).toBe(0);

    for (const body of ['nope', '{"route":"x","fault":{"kind":"reset"}}', '{"route":"*","fault":{"kind":"reset"},"times":0}']) {
      const bad = await fetch(new URL('faults', control), { method: 'POST', body });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toEqual({ Message: expect.any(String) });
    }
    expect((await fetch(new URL('requests', control), { method: 'POST' })).status).toBe(405);
    expect((await fetch(new URL('nothing', control))).status).toBe(404);
    // Control traffic is not upstream traffic.
    expect(simulator.requests.count()).toBe(0);
  });
});

describe('control routes for after, targeted and random faults', () => {
  const post = (simulator: Simulator, path: string, body: unknown): Promise<Response> =>
    fetch(new URL(`/__simulator/${path}`, simulator.baseUrl), { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });

  it('queue a fault after the route for one client, and echo it', async () => {
    const simulator = await start({ controlRoutes: true });
    const api = client(simulator);
    const token = (await api.initiate()).body.AccessToken as number;
    const body = { route: 'execute', fault: { kind: 'reset' }, times: 1, after: true, match: { clientId: 'demo' } };
    const injected = await post(simulator, 'faults', body);
    expect(injected.status).toBe(200);
    expect(await injected.json()).toEqual(body);
    await expect(api.execute(token)).rejects.toThrow();
    expect((await api.status(token)).body).toMatchObject({ Status: 'Queued' });

    // `after: false` and a null match are the defaults, and echoed as nothing.
    const plain = await post(simulator, 'faults', { route: 'status', fault: { kind: 'status', status: 503 }, after: false, match: null });
    expect(await plain.json()).toEqual({ route: 'status', fault: { kind: 'status', status: 503 }, times: 1 });
    expect((await api.status(token)).status).toBe(503);
  });

  it('queue a hang after the route: the Stage applied, its answer never sent', async () => {
    const simulator = await start({ controlRoutes: true });
    const api = client(simulator);
    const token = (await api.initiate()).body.AccessToken as number;
    const body = { route: 'stage', fault: { kind: 'hang' }, times: 1, after: true, match: { accessToken: token } };
    const injected = await post(simulator, 'faults', body);
    expect(await injected.json()).toEqual(body);
    const hung = simulator.requests.waitFor((entry) => entry.route === 'stage');
    const staging = api.stageRecords(token, validRecords(2));
    expect(await hung).toMatchObject({ status: null });
    expect((await api.status(token)).body).toMatchObject({ TotalRecordsReceived: 2 });
    await simulator.stop();
    await expect(staging).rejects.toThrow();
  });

  it('queue a fault targeted at one import', async () => {
    const simulator = await start({ controlRoutes: true });
    const api = client(simulator);
    const target = (await api.initiate()).body.AccessToken as number;
    const other = (await api.initiate()).body.AccessToken as number;
    const injected = await post(simulator, 'faults', { route: '*', fault: { kind: 'status', status: 502 }, times: 'Infinity', match: { accessToken: target } });
    expect(await injected.json()).toEqual({ route: '*', fault: { kind: 'status', status: 502 }, times: 'Infinity', match: { accessToken: target } });
    expect((await api.status(other)).status).toBe(200);
    expect((await api.status(target)).status).toBe(502);
    expect((await api.exceptions(target)).status).toBe(502);
  });

  it('set, turn off and clear random failures', async () => {
    const simulator = await start({ controlRoutes: true });
    const api = client(simulator);
    const set = await post(simulator, 'random-failures', { route: 'status', rate: 1, status: 502, seed: 7 });
    expect(set.status).toBe(200);
    expect(await set.json()).toEqual({ route: 'status', rate: 1, status: 502, seed: 7 });
    expect((await api.status(1000)).status).toBe(502);
    expect((await api.initiate()).status).toBe(200);

    const off = await post(simulator, 'random-failures', { route: '*', rate: 0 });
    expect(await off.json()).toEqual({ route: '*', rate: 0, status: 503 });
    expect((await api.status(1000)).status).toBe(200);

    await post(simulator, 'random-failures', { route: '*', rate: 1 });
    expect((await api.status(1000)).status).toBe(503);
    expect((await fetch(new URL('/__simulator/faults', simulator.baseUrl), { method: 'DELETE' })).status).toBe(200);
    expect((await api.status(1000)).status).toBe(200);
    expect(simulator.requests.count()).toBe(5); // control traffic is not logged
  });

  it('refuse bad bodies with 400, other methods with 405', async () => {
    const simulator = await start({ controlRoutes: true });
    const bad: [string, unknown][] = [
      ['faults', { route: 'status', fault: { kind: 'delay', ms: 5 }, after: true }],
      ['faults', { route: 'status', fault: { kind: 'reset' }, afetr: true }],
      ['faults', { route: 'status', fault: { kind: 'reset', after: true } }],
      ['faults', { route: 'status', fault: { kind: 'reset' }, after: 'true' }],
      ['faults', { route: 'status', fault: { kind: 'reset' }, match: { clientID: 'demo' } }],
      ['faults', { route: 'token', fault: { kind: 'reset' }, match: { clientId: 'demo' } }],
      ['random-failures', 'nope'],
      ['random-failures', [1]],
      ['random-failures', { route: '*', rate: 2 }],
      ['random-failures', { route: '*', rate: 0.5, status: 200 }],
      ['random-failures', { route: 'x', rate: 0.5 }],
      ['random-failures', { route: '*', rate: 0.5, seed: 'seven' }],
    ];
    for (const [path, body] of bad) {
      const answer = await post(simulator, path, body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(await answer.json()).toEqual({ Message: expect.any(String) });
    }
    const get = await fetch(new URL('/__simulator/random-failures', simulator.baseUrl));
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    // Nothing was queued or set by the refused bodies.
    expect((await client(simulator).status(1000)).status).toBe(401);
  });
});

describe('stop()', () => {
  it('ends keep-alive, stalled and delayed requests at once and is idempotent', async () => {
    let delayStarted!: () => void;
    const delaying = new Promise<void>((resolve) => (delayStarted = resolve));
    const simulator = await start({
      log: (msg, fields) => {
        if (msg === 'simulator fault applied' && fields?.['fault'] === 'delay') delayStarted();
      },
    });
    const agent = new Agent({ keepAlive: true });
    try {
      // An idle keep-alive connection.
      const idle = await new Promise<number>((resolve, reject) => {
        const req = request(`${simulator.baseUrl}Async/demo/Import/1000/Status`, { agent, headers: { authorization: IMPORT_AUTH } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
      expect(idle).toBe(401);

      // A stalled body.
      simulator.faults.inject('status', { kind: 'stall-body' });
      const stalled = await fetch(`${simulator.baseUrl}Async/demo/Import/1000/Status`, { headers: { authorization: IMPORT_AUTH } });
      const stalledBody = stalled.text().then(
        () => 'finished',
        () => 'failed',
      );

      // A long delay, known to be under way through the simulator's notice.
      simulator.faults.inject('initiate', { kind: 'delay', ms: 60_000 });
      const delayed = client(simulator)
        .initiate()
        .then(
          () => 'answered',
          () => 'failed',
        );
      await delaying;

      const began = performance.now();
      await Promise.all([simulator.stop(), simulator.stop()]);
      expect(performance.now() - began).toBeLessThan(1_000);
      expect(await stalledBody).toBe('failed');
      expect(await delayed).toBe('failed');
      await simulator.stop();
    } finally {
      agent.destroy();
    }
  });
});
