import { describe, expect, it } from 'vitest';
import { DEMO_ACCOUNT, DEMO_OAUTH_CLIENT, type SimulatorAccount, type SimulatorOAuthClient } from '../../src/simulator/index.js';
import { basicAuth, client, issueToken, ManualClock, rawRequest, tokenRequest, useSimulators, validRecords } from './helpers.js';

const start = useSimulators();

const GRANT = { grant_type: 'client_credentials' };
const DEMO_BASIC = basicAuth(DEMO_OAUTH_CLIENT.clientId, DEMO_OAUTH_CLIENT.clientSecret);

/** A second account with a static credential and an OAuth client of its own. */
const OTHER_OAUTH: SimulatorOAuthClient = {
  clientId: 'other-oauth-client',
  clientSecret: 'other-oauth-secret',
  userId: 'Robot',
  label: 'other-oauth',
  canImport: true,
};
const OTHER_ACCOUNT: SimulatorAccount = {
  clientId: 'other',
  credentials: [{ value: 'Bearer other-token', label: 'other', canImport: true }],
  oauthClients: [OTHER_OAUTH],
};

describe('the token endpoint', () => {
  it('issues a bearer token to HTTP Basic client authentication', async () => {
    const simulator = await start();
    expect(simulator.tokenUrl).toBe(new URL('/oauth2/token', simulator.baseUrl).href);
    expect(simulator.tokensIssued).toBe(0);

    const answer = await tokenRequest(simulator, GRANT, { authorization: DEMO_BASIC });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(answer.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'demo/ApiUser' });
    expect(answer.body.access_token).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(simulator.tokensIssued).toBe(1);

    const again = await tokenRequest(simulator, GRANT, { authorization: DEMO_BASIC });
    expect(again.body.access_token).not.toBe(answer.body.access_token);
    expect(simulator.tokensIssued).toBe(2);
  });

  it('issues a token to client authentication in the body, with the scope given or defaulted', async () => {
    const simulator = await start({ tokenTtlSeconds: 120 });
    const { clientId, clientSecret } = DEMO_OAUTH_CLIENT;
    const defaulted = await tokenRequest(simulator, { ...GRANT, client_id: clientId, client_secret: clientSecret });
    expect(defaulted.status).toBe(200);
    expect(defaulted.body).toMatchObject({ token_type: 'Bearer', expires_in: 120, scope: 'demo/ApiUser' });

    const scoped = await tokenRequest(simulator, { ...GRANT, scope: 'demo/ApiUser', client_id: clientId, client_secret: clientSecret });
    expect(scoped.status).toBe(200);
    expect(scoped.body.scope).toBe('demo/ApiUser');
    // An empty parameter reads as omitted (RFC 6749 §3.1).
    expect((await tokenRequest(simulator, { ...GRANT, scope: '', client_id: clientId, client_secret: clientSecret })).status).toBe(200);
    expect(simulator.tokensIssued).toBe(3);
  });

  it('form-decodes the halves of a Basic header and accepts any charset parameter', async () => {
    const odd: SimulatorOAuthClient = { clientId: 'id:with+odd chars', clientSecret: 'p@ss word:/%+', userId: 'U', label: 'odd', canImport: true };
    const simulator = await start({ accounts: [{ clientId: 'odd', credentials: [], oauthClients: [odd] }] });
    const answer = await tokenRequest(simulator, GRANT, {
      authorization: basicAuth(odd.clientId, odd.clientSecret),
      'content-type': 'application/x-www-form-urlencoded; charset=UTF-8',
    });
    expect(answer.status).toBe(200);
    expect(answer.body.scope).toBe('odd/U');
    // The same secret without the form encoding is another secret.
    const raw = `Basic ${Buffer.from(`${odd.clientId}:${odd.clientSecret}`).toString('base64')}`;
    expect((await tokenRequest(simulator, GRANT, { authorization: raw })).status).toBe(401);
  });

  const { clientId, clientSecret } = DEMO_OAUTH_CLIENT;
  it.each<[string, Record<string, string>, Record<string, string>]>([
    ['a wrong secret over Basic', GRANT, { authorization: basicAuth(clientId, `${clientSecret}x`) }],
    ['a wrong secret in the body', { ...GRANT, client_id: clientId, client_secret: clientSecret.slice(1) }, {}],
    ['an unknown client', { ...GRANT, client_id: 'nobody', client_secret: clientSecret }, {}],
    ['a static credential as client id', { ...GRANT, client_id: 'demo', client_secret: 'demo-import-token' }, {}],
    ['a client id without a secret', { ...GRANT, client_id: clientId }, {}],
    ['no client authentication', GRANT, {}],
    ['a Bearer header', GRANT, { authorization: 'Bearer demo-import-token' }],
    ['a Basic header that is not base64', GRANT, { authorization: 'Basic %%%' }],
    ['a Basic header without a colon', GRANT, { authorization: `Basic ${Buffer.from(clientId).toString('base64')}` }],
  ])('answers 401 invalid_client to %s', async (_label, form, headers) => {
    const simulator = await start();
    const answer = await tokenRequest(simulator, form, headers);
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toBe('Basic realm="mypreferences"');
    expect(answer.body).toEqual({ error: 'invalid_client', error_description: expect.any(String) });
    expect(simulator.tokensIssued).toBe(0);
  });

  it.each<[string, Record<string, string>, Record<string, string>, string]>([
    ['Basic and body authentication at once', { ...GRANT, client_id: clientId, client_secret: clientSecret }, { authorization: DEMO_BASIC }, 'invalid_request'],
    ['Basic plus a body client_id', { ...GRANT, client_id: clientId }, { authorization: DEMO_BASIC }, 'invalid_request'],
    ['a missing grant_type', {}, { authorization: DEMO_BASIC }, 'invalid_request'],
    ['the password grant', { grant_type: 'password', username: 'u', password: 'p' }, { authorization: DEMO_BASIC }, 'unsupported_grant_type'],
    ['the authorization code grant', { grant_type: 'authorization_code', code: 'c' }, { authorization: DEMO_BASIC }, 'unsupported_grant_type'],
    ['a scope of another user', { ...GRANT, scope: 'demo/Someone' }, { authorization: DEMO_BASIC }, 'invalid_scope'],
    ['a scope of another account', { ...GRANT, scope: 'other/ApiUser' }, { authorization: DEMO_BASIC }, 'invalid_scope'],
    ['a scope of two entries', { ...GRANT, scope: 'demo/ApiUser demo/Other' }, { authorization: DEMO_BASIC }, 'invalid_scope'],
    ['a JSON body', GRANT, { authorization: DEMO_BASIC, 'content-type': 'application/json' }, 'invalid_request'],
    ['a multipart content type', GRANT, { authorization: DEMO_BASIC, 'content-type': 'multipart/form-data; boundary=x' }, 'invalid_request'],
  ])('answers 400 to %s', async (_label, form, headers, error) => {
    const simulator = await start();
    const answer = await tokenRequest(simulator, form, headers);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error, error_description: expect.any(String) });
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(simulator.tokensIssued).toBe(0);
  });

  it('answers 400 to a body without content type and to a parameter sent twice', async () => {
    const simulator = await start();
    const bare = await rawRequest(simulator.port, 'POST', '/oauth2/token', { authorization: DEMO_BASIC }, 'grant_type=client_credentials');
    expect(bare.status).toBe(400);
    expect(JSON.parse(bare.text)).toMatchObject({ error: 'invalid_request' });
    const twice = await rawRequest(
      simulator.port,
      'POST',
      '/oauth2/token',
      { authorization: DEMO_BASIC, 'content-type': 'application/x-www-form-urlencoded' },
      'grant_type=client_credentials&grant_type=client_credentials',
    );
    expect(twice.status).toBe(400);
    expect(JSON.parse(twice.text)).toMatchObject({ error: 'invalid_request' });
    expect(simulator.tokensIssued).toBe(0);
  });

  it('answers 413 to a body over 16 KB', async () => {
    const simulator = await start();
    const answer = await tokenRequest(simulator, { ...GRANT, padding: 'x'.repeat(17 * 1024) }, { authorization: DEMO_BASIC });
    expect(answer.status).toBe(413);
    expect(answer.body).toMatchObject({ error: 'invalid_request' });
    expect((await tokenRequest(simulator, { ...GRANT, padding: 'x'.repeat(8 * 1024) }, { authorization: DEMO_BASIC })).status).toBe(200);
  });

  it('answers 405 with Allow: POST to other methods, and 404 beside its path', async () => {
    const simulator = await start();
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const answer = await rawRequest(simulator.port, method, '/oauth2/token', { authorization: DEMO_BASIC });
      expect(answer.status, method).toBe(405);
      expect(answer.headers['allow']).toBe('POST');
      expect(JSON.parse(answer.text)).toMatchObject({ error: 'invalid_request' });
    }
    const form = { authorization: DEMO_BASIC, 'content-type': 'application/x-www-form-urlencoded' };
    for (const path of ['/oauth2/token/', '/Profiles/oauth2/token', '/oauth2/Token', '/oauth2']) {
      expect((await rawRequest(simulator.port, 'POST', path, form, 'grant_type=client_credentials')).status, path).toBe(404);
    }
    // The query is ignored: the body carries the request.
    expect((await rawRequest(simulator.port, 'POST', '/oauth2/token?x=1', form, 'grant_type=client_credentials')).status).toBe(200);
    expect(simulator.tokensIssued).toBe(1);
  });
});

describe('the Bulk Import routes with an OAuth bearer token', () => {
  it('accept the token on every route of its account', async () => {
    const simulator = await start();
    const api = client(simulator, { auth: `Bearer ${await issueToken(simulator)}` });
    const initiated = await api.initiate({ Name: 'with OAuth' });
    expect(initiated.status).toBe(200);
    const handle = initiated.body.AccessToken as number;
    expect((await api.stageRecords(handle, validRecords(2))).status).toBe(200);
    expect((await api.execute(handle)).status).toBe(200);
    expect((await api.status(handle)).body).toMatchObject({ Status: 'Queued', TotalRecordsReceived: 2 });
    expect((await api.exceptions(handle)).status).toBe(200);
    expect((await client(simulator, { auth: `Bearer ${await issueToken(simulator)}`, prefix: 'v4/' }).status(handle)).status).toBe(200);
  });

  it('answer 401 to a token of another account, and to a token that was never issued', async () => {
    const simulator = await start({ accounts: [DEMO_ACCOUNT, OTHER_ACCOUNT] });
    const demoToken = await issueToken(simulator);
    const otherToken = await issueToken(simulator, OTHER_OAUTH);
    expect((await client(simulator, { clientId: 'other', auth: `Bearer ${otherToken}` }).initiate()).status).toBe(200);

    for (const [clientId, auth] of [
      ['other', `Bearer ${demoToken}`],
      ['demo', `Bearer ${otherToken}`],
      ['demo', `Bearer ${demoToken.slice(0, -1)}${demoToken.endsWith('A') ? 'B' : 'A'}`],
      ['demo', demoToken], // without the scheme
      ['demo', `Basic ${demoToken}`],
    ] as const) {
      const answer = await client(simulator, { clientId, auth }).initiate();
      expect(answer.status, `${clientId} ${auth}`).toBe(401);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
      expect(answer.body).toEqual({ Message: expect.any(String) });
    }
    // The scheme is case-insensitive (RFC 7235 §2.1).
    expect((await client(simulator, { auth: `bearer ${demoToken}` }).initiate()).status).toBe(200);
  });

  it('keep the contract`s order: unknown client id, then token, then permission, then import handle', async () => {
    const readOnly: SimulatorOAuthClient = {
      clientId: 'ro-client',
      clientSecret: 'ro-secret',
      userId: 'Viewer',
      label: 'demo-oauth-readonly',
      canImport: false,
    };
    const simulator = await start({ accounts: [{ ...DEMO_ACCOUNT, oauthClients: [DEMO_OAUTH_CLIENT, readOnly] }] });
    const token = await issueToken(simulator);
    const readOnlyToken = await issueToken(simulator, readOnly);
    expect((await client(simulator, { clientId: 'nobody', auth: `Bearer ${token}` }).initiate()).status).toBe(404);

    const viewer = client(simulator, { auth: `Bearer ${readOnlyToken}` });
    const handle = (await client(simulator, { auth: `Bearer ${token}` }).initiate()).body.AccessToken as number;
    expect((await viewer.initiate()).status).toBe(403);
    expect((await viewer.stageRecords(handle, validRecords(1))).status).toBe(403);
    expect((await viewer.execute(handle)).status).toBe(403);
    expect((await viewer.status(handle)).status).toBe(403);
    const forbidden = await viewer.exceptions(424242);
    expect(forbidden.status).toBe(403); // permission before the import handle
    expect(forbidden.body).toEqual({ Message: expect.any(String) });

    const unknownHandle = await client(simulator, { auth: `Bearer ${token}` }).status(424242);
    expect(unknownHandle.status).toBe(401);
    expect(unknownHandle.body.Message).toMatch(/access token/);
  });

  it('answer 401 once the clock passes the token`s expiry', async () => {
    const clock = new ManualClock();
    const simulator = await start({ clock, tokenTtlSeconds: 60 });
    const answer = await tokenRequest(simulator, GRANT, { authorization: DEMO_BASIC });
    expect(answer.body.expires_in).toBe(60);
    const api = client(simulator, { auth: `Bearer ${answer.body.access_token}` });
    const handle = (await api.initiate()).body.AccessToken as number;
    clock.advance(60_000 - 1);
    expect((await api.status(handle)).status).toBe(200);
    clock.advance(1); // the token lived exactly expires_in seconds
    const expired = await api.status(handle);
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toBe('Bearer');
    expect((await api.initiate()).status).toBe(401);
    // The import handle outlives the token: a fresh token reaches the same import.
    expect((await client(simulator, { auth: `Bearer ${await issueToken(simulator)}` }).status(handle)).status).toBe(200);
  });

  it('answer 401 to every token issued before expireTokens(), and accept the ones issued after', async () => {
    const clock = new ManualClock();
    const simulator = await start({ clock, tokenTtlSeconds: 60, accounts: [DEMO_ACCOUNT, OTHER_ACCOUNT] });
    const stale = await issueToken(simulator);
    clock.advance(61_000);
    const first = await issueToken(simulator);
    const second = await issueToken(simulator, OTHER_OAUTH);
    expect((await client(simulator, { auth: `Bearer ${first}` }).initiate()).status).toBe(200);

    expect(simulator.expireTokens()).toBe(2); // the stale one was no longer usable anyway
    expect((await client(simulator, { auth: `Bearer ${first}` }).initiate()).status).toBe(401);
    expect((await client(simulator, { clientId: 'other', auth: `Bearer ${second}` }).initiate()).status).toBe(401);
    expect((await client(simulator, { auth: `Bearer ${stale}` }).initiate()).status).toBe(401);
    expect(simulator.expireTokens()).toBe(0);

    const fresh = await issueToken(simulator);
    expect((await client(simulator, { auth: `Bearer ${fresh}` }).initiate()).status).toBe(200);
    expect(simulator.tokensIssued).toBe(4);
    // Static credentials are not tokens: they keep working.
    expect((await client(simulator).initiate()).status).toBe(200);
  });
});

describe('OAuth in the request log and the notices', () => {
  it('labels token requests and API requests with the OAuth client`s label, never the token or secret', async () => {
    const clock = new ManualClock();
    const notices: unknown[] = [];
    const simulator = await start({ clock, log: (msg, fields) => notices.push({ msg, fields }) });
    const bad = await tokenRequest(simulator, GRANT, { authorization: basicAuth(DEMO_OAUTH_CLIENT.clientId, 'wrong') });
    expect(bad.status).toBe(401);
    const unsupported = await tokenRequest(simulator, { grant_type: 'password' }, { authorization: DEMO_BASIC });
    expect(unsupported.status).toBe(400);
    const token = await issueToken(simulator);
    const api = client(simulator, { auth: `Bearer ${token}` });
    await api.initiate();
    simulator.expireTokens();
    await api.status(1000);
    await rawRequest(simulator.port, 'GET', '/oauth2/token');

    expect(simulator.requests.entries).toEqual([
      { route: 'token', method: 'POST', rawPath: '/oauth2/token', status: 401, credentialLabel: null, at: clock.t },
      // Authenticated, then refused: the label says who asked.
      { route: 'token', method: 'POST', rawPath: '/oauth2/token', status: 400, credentialLabel: 'demo-oauth', at: clock.t },
      { route: 'token', method: 'POST', rawPath: '/oauth2/token', status: 200, credentialLabel: 'demo-oauth', at: clock.t },
      { route: 'initiate', method: 'POST', rawPath: '/Profiles/Async/demo/Import', status: 200, credentialLabel: 'demo-oauth', at: clock.t },
      { route: 'status', method: 'GET', rawPath: '/Profiles/Async/demo/Import/1000/Status', status: 401, credentialLabel: null, at: clock.t },
      { route: 'token', method: 'GET', rawPath: '/oauth2/token', status: 405, credentialLabel: null, at: clock.t },
    ]);
    expect(simulator.requests.count('token')).toBe(4);
    expect(simulator.requests.count('initiate')).toBe(1);
    expect(simulator.requests.count()).toBe(6);

    const everything = JSON.stringify([simulator.requests.entries, notices]);
    for (const secret of [token, DEMO_OAUTH_CLIENT.clientSecret, DEMO_BASIC.slice('Basic '.length)]) {
      expect(everything).not.toContain(secret);
    }
  });

  it('labels a request whose token expired between arrival and the check by the verdict it got', async () => {
    const clock = new ManualClock();
    // The fault notice comes after the arrival label and before the checks: move the clock there.
    const simulator = await start({
      clock,
      tokenTtlSeconds: 1,
      log: (msg) => {
        if (msg === 'simulator fault applied') clock.advance(1_000);
      },
    });
    const token = await issueToken(simulator);
    simulator.faults.inject('initiate', { kind: 'delay', ms: 0 });
    const answer = await client(simulator, { auth: `Bearer ${token}` }).initiate();
    expect(answer.status).toBe(401);
    // Arrived with a live token, refused with an expired one: the log follows the answer.
    expect(simulator.requests.entries.at(-1)).toMatchObject({ route: 'initiate', status: 401, credentialLabel: null, at: clock.t - 1_000 });
  });
});

describe('faults on the token endpoint', () => {
  it('apply to route `token` only, and `*` includes it', async () => {
    const simulator = await start();
    simulator.faults.inject('token', { kind: 'status', status: 503, headers: { 'Retry-After': '2' } });
    const faulted = await tokenRequest(simulator, GRANT, { authorization: DEMO_BASIC });
    expect(faulted.status).toBe(503);
    expect(faulted.headers.get('retry-after')).toBe('2');
    expect(simulator.tokensIssued).toBe(0);
    expect((await client(simulator).initiate()).status).toBe(200); // another route: untouched

    simulator.faults.inject('initiate', { kind: 'status', status: 500 });
    expect((await tokenRequest(simulator, GRANT, { authorization: DEMO_BASIC })).status).toBe(200);
    simulator.faults.clear();

    simulator.faults.inject('*', { kind: 'reset' });
    const logged = simulator.requests.waitFor((entry) => entry.route === 'token' && entry.status === null);
    await expect(tokenRequest(simulator, GRANT, { authorization: DEMO_BASIC })).rejects.toThrow();
    expect(await logged).toMatchObject({ route: 'token', credentialLabel: null });
    expect((await tokenRequest(simulator, GRANT, { authorization: DEMO_BASIC })).status).toBe(200);
    expect(simulator.tokensIssued).toBe(2);
  });

  it('never apply to the wrong method (405 comes first)', async () => {
    const simulator = await start();
    simulator.faults.inject('token', { kind: 'status', status: 503 });
    expect((await rawRequest(simulator.port, 'GET', '/oauth2/token')).status).toBe(405);
    expect((await tokenRequest(simulator, GRANT, { authorization: DEMO_BASIC })).status).toBe(503);
  });
});

describe('OAuth options', () => {
  it('refuses invalid OAuth clients and token lifetimes at start', async () => {
    const twin = { ...OTHER_ACCOUNT, oauthClients: [{ ...OTHER_OAUTH, clientId: DEMO_OAUTH_CLIENT.clientId }] };
    await expect(start({ accounts: [DEMO_ACCOUNT, twin] })).rejects.toThrow(new RegExp(`OAuth client "${DEMO_OAUTH_CLIENT.clientId}" is listed twice`));
    await expect(start({ accounts: [{ ...OTHER_ACCOUNT, oauthClients: [OTHER_OAUTH, OTHER_OAUTH] }] })).rejects.toThrow(/listed twice/);
    for (const field of ['clientId', 'clientSecret', 'userId'] as const) {
      const broken = { ...OTHER_ACCOUNT, oauthClients: [{ ...OTHER_OAUTH, [field]: '' }] };
      await expect(start({ accounts: [broken] }), field).rejects.toThrow(new RegExp(field));
    }
    const noLabel = { ...OTHER_ACCOUNT, oauthClients: [{ ...OTHER_OAUTH, label: undefined as unknown as string }] };
    await expect(start({ accounts: [noLabel] })).rejects.toThrow(TypeError);
    for (const tokenTtlSeconds of [0, -1, 1.5, Infinity, Number.NaN]) {
      await expect(start({ tokenTtlSeconds }), String(tokenTtlSeconds)).rejects.toThrow(/tokenTtlSeconds/);
    }
  });

  it('gives the demo account one OAuth client that may import, with realistic id and secret lengths', () => {
    expect(DEMO_ACCOUNT.oauthClients).toEqual([DEMO_OAUTH_CLIENT]);
    expect(DEMO_OAUTH_CLIENT).toMatchObject({ userId: 'ApiUser', label: 'demo-oauth', canImport: true });
    expect(DEMO_OAUTH_CLIENT.clientId).toMatch(/^[A-Za-z0-9]{48}$/);
    expect(DEMO_OAUTH_CLIENT.clientSecret).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(Object.isFrozen(DEMO_OAUTH_CLIENT)).toBe(true);
  });

  it('gives an account without OAuth clients no tokens', async () => {
    const simulator = await start({ accounts: [{ clientId: 'plain', credentials: [{ value: 'Bearer p', label: 'p', canImport: true }] }] });
    const answer = await tokenRequest(simulator, GRANT, { authorization: DEMO_BASIC });
    expect(answer.status).toBe(401);
    expect(answer.body.error).toBe('invalid_client');
  });
});
