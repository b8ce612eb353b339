import { describe, expect, it } from 'vitest';
import { DEMO_ACCOUNT } from '../../src/simulator/index.js';
import { client, IMPORT_AUTH, ManualClock, READONLY_AUTH, rawRequest, useSimulators, validRecords } from './helpers.js';

const start = useSimulators();

describe.each([
  ['without a version segment', ''],
  ['with v4/', 'v4/'],
])('every route answers %s', (_label, prefix) => {
  it('runs Initiate, Stage, Execute, Status and Exceptions', async () => {
    const clock = new ManualClock();
    const simulator = await start({ clock });
    const api = client(simulator, { prefix });

    const initiated = await api.initiate({ Name: 'Spring newsletter' });
    expect(initiated.status).toBe(200);
    expect(initiated.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(initiated.body).toEqual({
      TotalRecordsReceived: 0,
      ValidationSuccessful: 0,
      ValidationFailed: 0,
      Processed: 0,
      Pending: 0,
      Exceptions: 0,
      NotHonored: 0,
      AccessToken: expect.any(Number),
      Status: 'Initiated',
      Expires: new Date(clock.t + 12 * 60 * 60 * 1000).toISOString(),
      Name: 'Spring newsletter',
      DataStageDuration: 3,
      ImportAction: 'Add',
      MatchCriteria: null,
      MatchValue: null,
      RefreshAlternateIds: false,
      RefreshContacts: false,
      RefreshCustomFields: false,
      RefreshGroups: false,
      RefreshTags: false,
      AllowPriorConsents: false,
    });
    const token = initiated.body.AccessToken as number;
    expect(token).toBeGreaterThan(0);

    const staged = await api.stageRecords(token, validRecords(3));
    expect(staged.status).toBe(200);
    expect(staged.body).toMatchObject({ Status: 'Staging', TotalRecordsReceived: 3, ValidationSuccessful: 3, Pending: 3 });

    const executed = await api.execute(token);
    expect(executed.status).toBe(200);
    expect(executed.body).toMatchObject({ Status: 'Queued', Processed: 0, Pending: 3 });

    const status = await api.status(token);
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ Status: 'Queued', AccessToken: token });

    const exceptions = await api.exceptions(token);
    expect(exceptions.status).toBe(200);
    expect(exceptions.body).toEqual({
      Count: 0,
      HasMore: false,
      Limit: 1000,
      Offset: 1,
      TotalResults: 0,
      BulkUserProfilePreferenceExceptions: [],
    });
  });
});

describe('Initiate', () => {
  it('echoes every setting and hands out unique, increasing tokens', async () => {
    const simulator = await start();
    const api = client(simulator);
    const settings = {
      Name: 'x'.repeat(100),
      DataStageDuration: 0,
      ImportAction: 'Delete',
      MatchCriteria: 'AlternateIdType',
      MatchValue: 'CRM',
      RefreshAlternateIds: true,
      RefreshContacts: true,
      RefreshCustomFields: true,
      RefreshGroups: true,
      RefreshTags: true,
      AllowPriorConsents: true,
      SomethingNew: 'ignored',
    };
    const first = await api.initiate(settings);
    expect(first.status).toBe(200);
    const { SomethingNew: _ignored, ...echoed } = settings;
    expect(first.body).toMatchObject(echoed);
    expect(first.body).not.toHaveProperty('SomethingNew');
    const second = await api.initiate();
    expect(second.body.AccessToken).toBeGreaterThan(first.body.AccessToken);
  });

  it.each([
    ['a missing Name', {}, 'Name'],
    ['an empty Name', { Name: '' }, 'Name'],
    ['a Name of 101 characters', { Name: 'x'.repeat(101) }, 'Name'],
    ['a DataStageDuration of 11', { Name: 'n', DataStageDuration: 11 }, 'DataStageDuration'],
    ['a fractional DataStageDuration', { Name: 'n', DataStageDuration: 1.5 }, 'DataStageDuration'],
    ['an unknown ImportAction', { Name: 'n', ImportAction: 'Upsert' }, 'ImportAction'],
    ['an unknown MatchCriteria', { Name: 'n', MatchCriteria: 'Email', MatchValue: 'x' }, 'MatchCriteria'],
    ['MatchCriteria without MatchValue', { Name: 'n', MatchCriteria: 'AlternateIdType' }, 'MatchValue'],
    ['a string flag', { Name: 'n', RefreshTags: 'yes' }, 'RefreshTags'],
  ])('refuses %s with 400 and ModelState', async (_label, body, field) => {
    const simulator = await start();
    const answer = await client(simulator).initiate(body);
    expect(answer.status).toBe(400);
    expect(answer.body.Message).toEqual(expect.any(String));
    expect(answer.body.ModelState[field]).toEqual([expect.any(String)]);
  });

  it('counts a Name in characters, not UTF-16 units', async () => {
    const simulator = await start();
    expect((await client(simulator).initiate({ Name: '😀'.repeat(100) })).status).toBe(200);
  });

  it.each([
    ['malformed JSON', '{"Name": '],
    ['an empty body', ''],
    ['a JSON array', '[]'],
    ['a JSON string', '"Name"'],
  ])('refuses %s with 400', async (_label, body) => {
    const simulator = await start();
    const answer = await rawRequest(simulator.port, 'POST', '/Profiles/Async/demo/Import', { authorization: IMPORT_AUTH }, body);
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text)).toEqual({ Message: expect.any(String) });
  });

  it('refuses malformed JSON on Stage with 400', async () => {
    const simulator = await start();
    const api = client(simulator);
    const { body } = await api.initiate();
    expect((await api.stage(body.AccessToken, '{"UserProfilePreferences": [')).status).toBe(400);
  });

  it.each([
    ['not an object', []],
    ['without the array', { Records: [] }],
    ['with a non-object record', { UserProfilePreferences: [{ ProfileId: 'a' }, 'b'] }],
    ['with a null record', { UserProfilePreferences: [null] }],
  ])('refuses a Stage body %s with 400', async (_label, stageBody) => {
    const simulator = await start();
    const api = client(simulator);
    const { body } = await api.initiate();
    const answer = await api.stage(body.AccessToken, stageBody);
    expect(answer.status).toBe(400);
    expect(answer.body.ModelState.UserProfilePreferences).toHaveLength(1);
    expect((await api.status(body.AccessToken)).body).toMatchObject({ Status: 'Initiated', TotalRecordsReceived: 0 });
  });
});

describe('checks in order: client id, credential, permission, access token', () => {
  it('answers 404 for an unknown client id', async () => {
    const simulator = await start();
    const answer = await client(simulator, { clientId: 'nobody' }).initiate();
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ Message: expect.any(String) });
    // Even without a credential: the client id is checked first.
    expect((await client(simulator, { clientId: 'nobody', auth: null }).status(1000)).status).toBe(404);
  });

  it.each([
    ['a missing', null],
    ['a wrong', 'Bearer not-a-token'],
    ['another account`s', 'Bearer other-token'],
  ])('answers 401 with WWW-Authenticate for %s credential', async (_label, auth) => {
    const simulator = await start({
      accounts: [DEMO_ACCOUNT, { clientId: 'other', credentials: [{ value: 'Bearer other-token', label: 'other', canImport: true }] }],
    });
    const api = client(simulator, { auth });
    const initiated = await api.initiate();
    expect(initiated.status).toBe(401);
    expect(initiated.headers.get('www-authenticate')).toBe('Bearer');
    expect(initiated.body).toEqual({ Message: expect.any(String) });
    expect((await api.status(1000)).status).toBe(401);
  });

  it('answers 403 for a read-only credential on every route', async () => {
    const simulator = await start();
    const token = (await client(simulator).initiate()).body.AccessToken as number;
    const readOnly = client(simulator, { auth: READONLY_AUTH });
    expect((await readOnly.initiate()).status).toBe(403);
    expect((await readOnly.stageRecords(token, validRecords(1))).status).toBe(403);
    expect((await readOnly.execute(token)).status).toBe(403);
    expect((await readOnly.status(token)).status).toBe(403);
    expect((await readOnly.exceptions(token)).status).toBe(403);
  });

  it('answers 401 for malformed, unknown and foreign access tokens', async () => {
    const simulator = await start({
      accounts: [DEMO_ACCOUNT, { clientId: 'other', credentials: [{ value: 'Bearer other-token', label: 'other', canImport: true }] }],
    });
    const demo = client(simulator);
    const other = client(simulator, { clientId: 'other', auth: 'Bearer other-token' });
    const foreignToken = (await other.initiate()).body.AccessToken as number;
    expect((await other.status(foreignToken)).status).toBe(200);
    for (const token of ['abc', '0', '-5', '01000', '1.5', '99999999999999999999', '123456', String(foreignToken)]) {
      const answer = await demo.status(token);
      expect(answer.status, token).toBe(401);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
    }
  });

  it('answers 401 once the access token has expired', async () => {
    const clock = new ManualClock();
    const simulator = await start({ clock, accessTokenLifetimeMs: 60_000 });
    const api = client(simulator);
    const initiated = await api.initiate();
    const token = initiated.body.AccessToken as number;
    expect(initiated.body.Expires).toBe(new Date(clock.t + 60_000).toISOString());
    clock.advance(60_000);
    expect((await api.status(token)).status).toBe(200); // expires only after `now > Expires`
    clock.advance(1);
    expect((await api.status(token)).status).toBe(401);
    expect((await api.stageRecords(token, validRecords(1))).status).toBe(401);
    expect((await api.execute(token)).status).toBe(401);
    expect((await api.exceptions(token)).status).toBe(401);
  });
});

describe('paths', () => {
  it('answers 404 for unknown paths and 405 for a known path with the wrong method', async () => {
    const simulator = await start();
    for (const path of [
      '/',
      '/Profiles/',
      '/Profiles/Async/demo',
      '/Profiles/Async/demo/Import/',
      '/Profiles/v5/Async/demo/Import',
      '/profiles/Async/demo/Import',
    ]) {
      const answer = await rawRequest(simulator.port, 'POST', path, { authorization: IMPORT_AUTH }, '{"Name":"x"}');
      expect(answer.status, path).toBe(404);
      expect(JSON.parse(answer.text)).toEqual({ Message: expect.any(String) });
    }
    const wrongMethod = await rawRequest(simulator.port, 'GET', '/Profiles/Async/demo/Import', { authorization: IMPORT_AUTH });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers['allow']).toBe('POST');
    expect((await rawRequest(simulator.port, 'POST', '/Profiles/Async/demo/Import/1000/Status')).status).toBe(405);
  });

  it('keeps an encoded slash inside the client id and never lets a segment reach another route', async () => {
    const simulator = await start({
      accounts: [DEMO_ACCOUNT, { clientId: 'a/b', credentials: [{ value: 'Bearer ab-token', label: 'ab', canImport: true }] }],
    });
    // `a%2Fb` is the client id `a/b`, not the path `a/b`.
    const slashed = client(simulator, { clientId: 'a/b', auth: 'Bearer ab-token' });
    const initiated = await slashed.initiate();
    expect(initiated.status).toBe(200);
    expect(simulator.requests.entries.at(-1)?.rawPath).toBe('/Profiles/Async/a%2Fb/Import');
    expect((await slashed.status(initiated.body.AccessToken)).status).toBe(200);
    // The unencoded form is a different (longer) path.
    expect((await rawRequest(simulator.port, 'POST', '/Profiles/Async/a/b/Import', { authorization: 'Bearer ab-token' }, '{"Name":"x"}')).status).toBe(404);

    const hostile = [
      '/Profiles/Async/..%2Fdemo/Import',
      '/Profiles/Async/%2e%2e/Import',
      '/Profiles/Async/../Import',
      '/Profiles/Async/demo%2FImport%2F1000/Import',
      '/Profiles/Async/a%2Fc/Import',
    ];
    for (const path of hostile) {
      const answer = await rawRequest(simulator.port, 'POST', path, { authorization: IMPORT_AUTH }, '{"Name":"x"}');
      expect(answer.status, path).toBe(404);
    }
  });

  it('answers 400 for a malformed percent-encoding', async () => {
    const simulator = await start();
    const clientId = await rawRequest(simulator.port, 'POST', '/Profiles/Async/de%ZZmo/Import', { authorization: IMPORT_AUTH }, '{"Name":"x"}');
    expect(clientId.status).toBe(400);
    const token = await rawRequest(simulator.port, 'GET', '/Profiles/Async/demo/Import/%E0%A4%A/Status', { authorization: IMPORT_AUTH });
    expect(token.status).toBe(400);
  });
});
