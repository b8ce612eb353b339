import { describe, expect, it } from 'vitest';
import { DEMO_ACCOUNT, type Simulator } from '../../src/simulator/index.js';
import { client, IMPORT_AUTH, rawRequest, useSimulators, validRecords } from './helpers.js';

const start = useSimulators();

/** An account whose client id needs percent-encoding in a path. */
const SLASHED_ACCOUNT = { clientId: 'a/b', credentials: [{ value: 'Bearer slashed-token', label: 'slashed', canImport: true }] };

/** `GET /__simulator/imports/{clientId}/{accessToken}/receipts`, the segments sent as given. */
async function receiptsRoute(simulator: Simulator, rawClientId: string, rawToken: string | number, method = 'GET') {
  const answer = await rawRequest(simulator.port, method, `/__simulator/imports/${rawClientId}/${rawToken}/receipts`);
  return { status: answer.status, headers: answer.headers, body: JSON.parse(answer.text) as unknown };
}

/** Initiates an import of the demo client; its access token. */
async function initiate(simulator: Simulator): Promise<number> {
  return (await client(simulator).initiate()).body.AccessToken as number;
}

describe('record receipts', () => {
  it('are off by default: undefined, and 404 on the control route', async () => {
    const simulator = await start({ controlRoutes: true });
    const token = await initiate(simulator);
    expect((await client(simulator).stageRecords(token, validRecords(3))).status).toBe(200);
    expect(simulator.recordReceipts('demo', token)).toBeUndefined();
    const answer = await receiptsRoute(simulator, 'demo', token);
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ Message: expect.stringContaining('recordReceipts') });
  });

  it('refuse an option that is not a boolean', async () => {
    await expect(start({ recordReceipts: 'yes' as never })).rejects.toThrow(TypeError);
  });

  it('count a record staged by two calls as a duplicate, and every further receipt of it', async () => {
    const simulator = await start({ recordReceipts: true });
    const api = client(simulator);
    const token = await initiate(simulator);
    expect(simulator.recordReceipts('demo', token)).toEqual({ received: 0, distinct: 0, duplicates: [] });

    expect((await api.stageRecords(token, validRecords(5))).status).toBe(200); // p-0 … p-4
    expect(simulator.recordReceipts('demo', token)).toEqual({ received: 5, distinct: 5, duplicates: [] });
    expect((await api.stageRecords(token, validRecords(3, 4))).status).toBe(200); // p-4 … p-6
    expect(simulator.recordReceipts('demo', token)).toEqual({ received: 8, distinct: 7, duplicates: [{ id: 'p-4', count: 2 }] });

    const third = await api.stageRecords(token, [...validRecords(1, 4), ...validRecords(1, 0)]);
    expect(third.body).toMatchObject({ TotalRecordsReceived: 10 });
    expect(simulator.recordReceipts('demo', token)).toEqual({
      received: 10,
      distinct: 7,
      duplicates: [
        { id: 'p-4', count: 3 },
        { id: 'p-0', count: 2 },
      ],
    });
  });

  it('identify a record without a ProfileId by its canonical JSON, whatever the order of its fields', async () => {
    const simulator = await start({ recordReceipts: true });
    const api = client(simulator);
    const token = await initiate(simulator);
    const anonymous = { Emails: [{ EmailAddress: 'a@example.com', Primary: true }], Tags: ['x'] };
    const reordered = '{"Tags":["x"],"Emails":[{"Primary":true,"EmailAddress":"a@example.com"}]}';
    const canonical = '{"Emails":[{"EmailAddress":"a@example.com","Primary":true}],"Tags":["x"]}';
    expect((await api.stageRecords(token, [anonymous, { ProfileId: '', Tags: [] }, { ProfileId: 7 }])).status).toBe(200);
    expect((await api.stage(token, `{"UserProfilePreferences":[${reordered},{"Tags":[],"ProfileId":""},{"ProfileId":7.0}]}`)).status).toBe(200);
    // A ProfileId spelling another record's content is still another record.
    expect((await api.stageRecords(token, [{ ProfileId: canonical }])).status).toBe(200);

    expect(simulator.recordReceipts('demo', token)).toEqual({
      received: 7,
      distinct: 4,
      duplicates: [
        { id: canonical, count: 2 },
        { id: '{"ProfileId":"","Tags":[]}', count: 2 },
        { id: '{"ProfileId":7}', count: 2 },
      ],
    });
  });

  it('count the records of accepted Stage calls only: invalid records count, refused calls do not', async () => {
    const simulator = await start({ recordReceipts: true, accounts: [{ ...DEMO_ACCOUNT, maxStageBytes: 1_000 }] });
    const api = client(simulator);
    const token = await initiate(simulator);
    // Failing validation is the upstream's verdict on a record it received.
    expect((await api.stageRecords(token, [{ ProfileId: 'bad', Emails: [{ EmailAddress: 'nope' }] }])).status).toBe(200);
    expect((await api.stageRecords(token, validRecords(500))).status).toBe(413);
    expect((await api.stage(token, '{"UserProfilePreferences": [')).status).toBe(400);
    expect((await api.stage(token, { UserProfilePreferences: [{ ProfileId: 'x' }, 'not a record'] })).status).toBe(400);
    expect((await api.execute(token)).status).toBe(200);
    expect((await api.stageRecords(token, validRecords(1))).status).toBe(400);

    expect((await api.status(token)).body).toMatchObject({ TotalRecordsReceived: 1, ValidationFailed: 1 });
    expect(simulator.recordReceipts('demo', token)).toEqual({ received: 1, distinct: 1, duplicates: [] });
  });

  it('refuse a batch holding a record too deeply nested to serialise with 500, counting none of it', async () => {
    const simulator = await start({ recordReceipts: true });
    const api = client(simulator);
    const token = await initiate(simulator);
    const depth = 100_000; // JSON.parse takes it; a recursive serialiser runs out of stack
    const deep = `{"Nested":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    expect((await api.stage(token, `{"UserProfilePreferences":[{"ProfileId":"p-0"},${deep}]}`)).status).toBe(500);
    expect((await api.status(token)).body).toMatchObject({ Status: 'Initiated', TotalRecordsReceived: 0 });
    expect(simulator.recordReceipts('demo', token)).toEqual({ received: 0, distinct: 0, duplicates: [] });
  });

  it('list the first 100 duplicated ids, in the order each was first received again', async () => {
    const simulator = await start({ recordReceipts: true });
    const api = client(simulator);
    const token = await initiate(simulator);
    const records = validRecords(150);
    expect((await api.stageRecords(token, records)).status).toBe(200);
    expect((await api.stageRecords(token, [...records].reverse())).status).toBe(200);

    const receipts = simulator.recordReceipts('demo', token);
    expect(receipts).toMatchObject({ received: 300, distinct: 150 });
    expect(receipts?.duplicates).toHaveLength(100);
    expect(receipts?.duplicates[0]).toEqual({ id: 'p-149', count: 2 });
    expect(receipts?.duplicates.at(-1)).toEqual({ id: 'p-50', count: 2 });
  });

  it('answer undefined for an unknown import or another client’s, and keep an import apart from the next', async () => {
    const simulator = await start({ recordReceipts: true });
    const first = await initiate(simulator);
    const second = await initiate(simulator);
    await client(simulator).stageRecords(first, validRecords(2));
    await client(simulator).stageRecords(second, validRecords(2));
    expect(simulator.recordReceipts('demo', first)).toMatchObject({ received: 2, duplicates: [] });
    expect(simulator.recordReceipts('other', first)).toBeUndefined();
    expect(simulator.recordReceipts('demo', 999_999)).toBeUndefined();
  });
});

describe('the receipts control route', () => {
  it('answers what recordReceipts() answers, for a client id given percent-encoded', async () => {
    const simulator = await start({ recordReceipts: true, controlRoutes: true, accounts: [DEMO_ACCOUNT, SLASHED_ACCOUNT] });
    const slashed = client(simulator, { clientId: 'a/b', auth: 'Bearer slashed-token' });
    const token = (await slashed.initiate()).body.AccessToken as number;
    await slashed.stageRecords(token, [...validRecords(2), ...validRecords(1)]);

    const answer = await receiptsRoute(simulator, 'a%2Fb', token);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(answer.body).toEqual({ received: 3, distinct: 2, duplicates: [{ id: 'p-0', count: 2 }] });
    expect(answer.body).toEqual(simulator.recordReceipts('a/b', token));
    // Control traffic is not upstream traffic.
    expect(simulator.requests.entries.some((entry) => entry.rawPath.startsWith('/__simulator/'))).toBe(false);
  });

  it('answers 404 for an unknown import, another client’s or a malformed one, and 405 to another method', async () => {
    const simulator = await start({ recordReceipts: true, controlRoutes: true });
    const token = await initiate(simulator);
    expect((await receiptsRoute(simulator, 'demo', token)).status).toBe(200);
    for (const [clientId, rawToken] of [
      ['demo', 999_999],
      ['other', token],
      ['demo', `0${token}`],
      ['demo', 'abc'],
      ['%E0%A4%A', token],
    ] as const) {
      const answer = await receiptsRoute(simulator, clientId, rawToken);
      expect(answer.status, `${clientId}/${rawToken}`).toBe(404);
      expect(answer.body).toEqual({ Message: expect.stringContaining('no import') });
    }
    const posted = await receiptsRoute(simulator, 'demo', token, 'POST');
    expect(posted.status).toBe(405);
    expect(posted.headers['allow']).toBe('GET');
  });
});

describe('staging through faults', () => {
  it('counts a Stage applied whose answer was lost to a reset; the retry shows as duplicates', async () => {
    const simulator = await start({ recordReceipts: true });
    const api = client(simulator);
    const token = await initiate(simulator);
    simulator.faults.inject('stage', { kind: 'reset' }, 1, { after: true });
    const logged = simulator.requests.waitFor((entry) => entry.route === 'stage');
    await expect(api.stageRecords(token, validRecords(3))).rejects.toThrow();
    expect(await logged).toMatchObject({ route: 'stage', status: null });

    expect((await api.status(token)).body).toMatchObject({ Status: 'Staging', TotalRecordsReceived: 3 });
    expect(simulator.recordReceipts('demo', token)).toEqual({ received: 3, distinct: 3, duplicates: [] });
    // A client that retries blindly sends the batch twice, and the receipts show it.
    expect((await api.stageRecords(token, validRecords(3))).status).toBe(200);
    expect(simulator.recordReceipts('demo', token)?.duplicates.map((duplicate) => duplicate.id)).toEqual(['p-0', 'p-1', 'p-2']);
  });

  it('counts a Stage applied that is never answered (after hang) until the client gives up', async () => {
    const simulator = await start({ recordReceipts: true });
    const token = await initiate(simulator);
    simulator.faults.inject('stage', { kind: 'hang' }, 1, { after: true, match: { accessToken: token } });
    const hung = simulator.requests.waitFor((entry) => entry.route === 'stage');
    const controller = new AbortController();
    const staging = fetch(`${simulator.baseUrl}Async/demo/Import/${token}/Stage`, {
      method: 'POST',
      headers: { authorization: IMPORT_AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ UserProfilePreferences: validRecords(4) }),
      signal: controller.signal,
    });
    // Logged without a status once the route acted and the hang began: no headers came.
    expect(await hung).toMatchObject({ route: 'stage', status: null });
    expect((await client(simulator).status(token)).body).toMatchObject({ Status: 'Staging', TotalRecordsReceived: 4 });
    expect(simulator.recordReceipts('demo', token)).toMatchObject({ received: 4, distinct: 4 });
    controller.abort(); // the gateway's attempt timeout, here
    await expect(staging).rejects.toThrow();
  });

  it('counts a Stage applied whose answer stalls mid-body (after stall-body)', async () => {
    const simulator = await start({ recordReceipts: true });
    const token = await initiate(simulator);
    simulator.faults.inject('stage', { kind: 'stall-body' }, 1, { after: true });
    const controller = new AbortController();
    const response = await fetch(`${simulator.baseUrl}Async/demo/Import/${token}/Stage`, {
      method: 'POST',
      headers: { authorization: IMPORT_AUTH },
      body: JSON.stringify({ UserProfilePreferences: validRecords(2) }),
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const rest = response.text();
    controller.abort();
    await expect(rest).rejects.toThrow();
    expect(simulator.recordReceipts('demo', token)).toMatchObject({ received: 2, distinct: 2 });
  });

  it('changes nothing when a hang comes before the route, and stop() ends a hung request', async () => {
    const simulator = await start({ recordReceipts: true });
    const token = await initiate(simulator);
    simulator.faults.inject('stage', { kind: 'hang' });
    const hung = simulator.requests.waitFor((entry) => entry.route === 'stage');
    const staging = client(simulator).stageRecords(token, validRecords(2));
    expect(await hung).toMatchObject({ status: null });
    expect((await client(simulator).status(token)).body).toMatchObject({ Status: 'Initiated', TotalRecordsReceived: 0 });
    expect(simulator.recordReceipts('demo', token)).toEqual({ received: 0, distinct: 0, duplicates: [] });
    await simulator.stop();
    await expect(staging).rejects.toThrow();
  });
});
