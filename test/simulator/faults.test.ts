import { Agent, request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { DEMO_OAUTH_CLIENT } from '../../src/simulator/index.js';
import { basicAuth, client, IMPORT_AUTH, ManualClock, rawRequest, READONLY_AUTH, tokenRequest, useSimulators } from './helpers.js';

const start = useSimulators();

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
      { route: 'exceptions', method: 'GET', rawPath: '/Profiles/Async/d%65mo/Import/1000/Exceptions?limit=5&offset=%31', status: 401, credentialLabel: null, at: clock.t },
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
