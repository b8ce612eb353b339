import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ExecuteImportDocument, ImportStatusDocument, ImportSummaryDocument, InitiateImportDocument, StageImportDocument } from '../../operations/generated.js';
import { createLogger } from '../../src/logger.js';
import { DEMO_ACCOUNT, type Simulator, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { onlyError, postGraphQL, queryText } from '../helpers/graphql.js';
import { type IdentityProvider, READ, startIdentityProvider, startRecordingTokenEndpoint, WRITE, writeAccountsFile } from '../helpers/identity-provider.js';
import { captureLogs } from '../helpers/log-capture.js';
import { recordWithPriorConsent, validRecord } from '../helpers/records.js';
import { sseSubscribe } from '../helpers/sse.js';
import { record, statusSequence } from '../helpers/subscriptions.js';
import { wsClient } from '../helpers/ws-client.js';

/**
 * jwt mode through real sockets: callers bring company JWTs, verified against a JWKS the test
 * serves over HTTP; the gateway calls the simulator with its own service account, whose token
 * it gets from the simulator's OAuth endpoint. Every refusal is coded and costs the upstream
 * nothing — not even a token request.
 */

const clientId = DEMO_ACCOUNT.clientId;
const POLL_MS = 100;
const ENTITIES = `query ($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on BulkImport { clientId accessToken status } }
}`;

describe('jwt mode', () => {
  const cleanup = useCleanup();

  async function setup(env: Record<string, string> = {}) {
    const simulator = await startSimulator({ queueDelayMs: 100, recordsPerSecond: 50 });
    cleanup(() => simulator.stop());
    const idp = await startIdentityProvider(cleanup);
    const accounts = writeAccountsFile(simulator, cleanup);
    const gateway = await startGateway(simulator.baseUrl, { ...idp.env(accounts), POLL_INTERVAL_MS: String(POLL_MS), ...env }, cleanup);
    return { simulator, idp, gateway };
  }

  const bearer = (token: string) => `Bearer ${token}`;

  /** An import made through the gateway with a full-rights token (then the request log is cleared). */
  async function stagedImport(gateway: RunningGateway, idp: IdentityProvider, simulator: Simulator, records = [validRecord(1), validRecord(2)]) {
    const authorization = bearer(await idp.mint());
    const initiated = await postGraphQL(gateway.url, InitiateImportDocument, { clientId, input: { name: 'jwt' } }, authorization);
    expect(initiated.errors).toBeUndefined();
    const ref = { clientId, accessToken: initiated.data!['initiateImport'].accessToken as string };
    await postGraphQL(gateway.url, StageImportDocument, { ...ref, records }, authorization);
    simulator.requests.reset();
    return ref;
  }

  /** The first error an operation gets on each transport (HTTP query, SSE, WebSocket, `_entities`). */
  async function errorsOnEveryTransport(gateway: RunningGateway, authorization: string | undefined, ref: { clientId: string; accessToken: string }) {
    const http = onlyError(await postGraphQL(gateway.url, ImportSummaryDocument, ref, authorization)).extensions;
    const sse = await sseSubscribe(gateway.url, queryText(ImportStatusDocument), ref, authorization, cleanup);
    await sse.done;
    const client = wsClient(gateway.wsUrl, { connectionParams: authorization === undefined ? {} : { authorization } }, cleanup);
    const ws = record(client, ImportStatusDocument, ref);
    await ws.done;
    const entities = onlyError(await postGraphQL(gateway.url, ENTITIES, { representations: [{ __typename: 'BulkImport', ...ref }] }, authorization)).extensions;
    return { http, sse: sse.results[0]?.errors?.[0]?.extensions, ws: ws.results[0]?.errors?.[0]?.extensions, entities };
  }

  it.each<[string, (idp: IdentityProvider) => Promise<string | undefined>, string]>([
    ['no token', async () => undefined, 'MISSING_TOKEN'],
    ['garbage', async () => 'Bearer not-a-jwt', 'INVALID_TOKEN'],
    ['another scheme', async (idp) => `Basic ${await idp.mint()}`, 'INVALID_TOKEN'],
    ['expired', async (idp) => bearer(await idp.mint({ claims: { exp: Math.floor(Date.now() / 1000) - 120 } })), 'TOKEN_EXPIRED'],
    ['wrong audience', async (idp) => bearer(await idp.mint({ claims: { aud: 'another-service' } })), 'INVALID_TOKEN'],
    ['wrong issuer', async (idp) => bearer(await idp.mint({ claims: { iss: 'https://evil.example/' } })), 'INVALID_TOKEN'],
    ['alg none', async (idp) => bearer(idp.unsigned()), 'INVALID_TOKEN'],
    ['HS256 keyed with the public key', async (idp) => bearer(await idp.hmacWithPublicKey()), 'INVALID_TOKEN'],
    ['unknown kid', async (idp) => bearer(await idp.mint({ kid: 'no-such-key' })), 'INVALID_TOKEN'],
    ['signed with another key', async (idp) => bearer(await idp.mint({ foreignKey: true })), 'INVALID_TOKEN'],
    ['no subject', async (idp) => bearer(await idp.mint({ claims: { sub: undefined } })), 'INVALID_TOKEN'],
    ['no expiry', async (idp) => bearer(await idp.mint({ claims: { exp: undefined } })), 'INVALID_TOKEN'],
  ])('%s: UNAUTHENTICATED on every transport, with no upstream request', async (_name, token, reason) => {
    const { simulator, idp, gateway } = await setup();
    const errors = await errorsOnEveryTransport(gateway, await token(idp), { clientId, accessToken: '1000' });
    for (const extensions of Object.values(errors)) expect(extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason });
    // Not one request: neither the API nor the token endpoint.
    expect(simulator.requests.count()).toBe(0);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a reader executing', { scope: READ }, 'MISSING_SCOPE'],
    ['a caller of another clientId', { mypreferences_clients: ['someone-else'] }, 'CLIENT_NOT_GRANTED'],
    ['a caller with no clients claim', { mypreferences_clients: undefined }, 'CLIENT_NOT_GRANTED'],
  ])('%s: FORBIDDEN with its reason, and no upstream request', async (_name, claims, reason) => {
    const { simulator, idp, gateway } = await setup();
    const authorization = bearer(await idp.mint({ claims }));
    const error = onlyError(await postGraphQL(gateway.url, ExecuteImportDocument, { clientId, accessToken: '1000' }, authorization));
    expect(error.extensions).toMatchObject({ code: 'FORBIDDEN', reason });
    expect(simulator.requests.count()).toBe(0);
  });

  it('a writer without read, and an ungranted clientId, are FORBIDDEN on every transport', async () => {
    const { simulator, idp, gateway } = await setup();
    const ref = { clientId, accessToken: '1000' };
    const writer = await errorsOnEveryTransport(gateway, bearer(await idp.mint({ claims: { scope: WRITE } })), ref);
    for (const extensions of Object.values(writer)) expect(extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'MISSING_SCOPE' });
    const stranger = await errorsOnEveryTransport(gateway, bearer(await idp.mint({ claims: { mypreferences_clients: ['acme'] } })), ref);
    for (const extensions of Object.values(stranger)) expect(extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'CLIENT_NOT_GRANTED' });
    expect(simulator.requests.count()).toBe(0);
  });

  it('a caller without the grant cannot join a subscription others already share', async () => {
    const { simulator, idp, gateway } = await setup();
    const ref = await stagedImport(gateway, idp, simulator);
    const allowed = record(wsClient(gateway.wsUrl, { connectionParams: { authorization: bearer(await idp.mint()) } }, cleanup), ImportStatusDocument, ref);
    await allowed.received(1);
    // The same document and variables, from callers who may not read this clientId or lack the scope.
    for (const claims of [{ mypreferences_clients: ['acme'] }, { scope: WRITE }]) {
      const intruder = record(
        wsClient(gateway.wsUrl, { connectionParams: { authorization: bearer(await idp.mint({ claims })) } }, cleanup),
        ImportStatusDocument,
        ref,
      );
      await intruder.done;
      expect(intruder.results).toEqual([
        expect.objectContaining({ errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'FORBIDDEN' }) })] }),
      ]);
    }
    expect(statusSequence(allowed)).toEqual(['STAGING:0']);
    allowed.unsubscribe();
  });

  it('a clientId the gateway has no service account for is FORBIDDEN (NO_SERVICE_ACCOUNT), even for "*"', async () => {
    const { simulator, idp, gateway } = await setup();
    const authorization = bearer(await idp.mint({ claims: { mypreferences_clients: '*' } }));
    const error = onlyError(await postGraphQL(gateway.url, ImportSummaryDocument, { clientId: 'acme', accessToken: '1000' }, authorization));
    expect(error.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'NO_SERVICE_ACCOUNT' });
    expect(simulator.requests.count()).toBe(0);
  });

  it('runs the whole workflow; MyPreferences sees only the service token, fetched once', async () => {
    const { simulator, idp, gateway } = await setup();
    const authorization = bearer(await idp.mint());
    const initiated = await postGraphQL(gateway.url, InitiateImportDocument, { clientId, input: { name: 'jwt workflow' } }, authorization);
    const ref = { clientId, accessToken: initiated.data!['initiateImport'].accessToken as string };
    await postGraphQL(gateway.url, StageImportDocument, { ...ref, records: [validRecord(1), validRecord(2), recordWithPriorConsent(3)] }, authorization);

    const watcher = record(wsClient(gateway.wsUrl, { connectionParams: { authorization } }, cleanup), ImportStatusDocument, ref);
    await watcher.received(1);
    const executed = await postGraphQL(gateway.url, ExecuteImportDocument, ref, authorization);
    expect(executed.data!['executeImport']).toMatchObject({ status: 'QUEUED' });
    await watcher.done;
    expect(statusSequence(watcher).at(-1)).toBe('COMPLETED:2');

    const api = simulator.requests.entries.filter((entry) => entry.route !== 'token');
    expect(api.length).toBeGreaterThan(4);
    // Every API call carried a token the simulator's OAuth endpoint issued to the demo client
    // (a caller JWT would have matched no credential, labelled null, and been refused with 401).
    expect(new Set(api.map((entry) => `${entry.credentialLabel}:${entry.status}`))).toEqual(new Set(['demo-oauth:200']));
    expect(simulator.requests.count('token')).toBe(1);
  });

  it('unknown accessTokens cannot drive the token endpoint: a burst of 401s renews the service token once, later ones not at all', async () => {
    const { simulator, idp, gateway } = await setup();
    const reader = bearer(await idp.mint({ claims: { scope: READ } }));
    // The simulator answers 401 to an accessToken it does not know, whichever bearer token came with it.
    const unknown = (n: number) => ({ clientId, accessToken: String(900_000 + n) });
    const codeOf = async (n: number) => onlyError(await postGraphQL(gateway.url, ImportSummaryDocument, unknown(n), reader)).extensions?.['code'];

    const burst = await Promise.all(Array.from({ length: 30 }, (_, n) => codeOf(n)));
    expect(new Set(burst)).toEqual(new Set(['UNAUTHENTICATED']));
    // The first token, and one renewal however many calls were refused with it; each call retried once at most.
    expect(simulator.requests.count('token')).toBeLessThanOrEqual(2);
    expect(simulator.requests.count('status')).toBeLessThanOrEqual(60);

    const before = { token: simulator.requests.count('token'), status: simulator.requests.count('status') };
    for (let n = 30; n < 60; n++) expect(await codeOf(n)).toBe('UNAUTHENTICATED');
    // The renewed token was refused too: the 401s are about the calls. No new token, no retry.
    expect(simulator.requests.count('token')).toBe(before.token);
    expect(simulator.requests.count('status')).toBe(before.status + 30);
  });

  it('accepts a key rotated into the JWKS without a restart', async () => {
    const { idp, gateway, simulator } = await setup({ AUTH_JWKS_COOLDOWN_MS: '0' });
    const ref = await stagedImport(gateway, idp, simulator);
    expect(idp.jwksFetches).toBe(1);

    await idp.rotate();
    const rotated = await postGraphQL(gateway.url, ImportSummaryDocument, ref, bearer(await idp.mint()));
    expect(rotated.errors).toBeUndefined();
    expect(rotated.data!['importSummary']).toMatchObject({ status: 'STAGING' });
    // The unknown kid made the gateway fetch the JWKS again, once.
    expect(idp.jwksFetches).toBe(2);
  });

  it('refetches the JWKS for unknown kids at most once per cooldown', async () => {
    const { idp, gateway } = await setup({ AUTH_JWKS_COOLDOWN_MS: '600000' });
    expect((await postGraphQL(gateway.url, ImportSummaryDocument, { clientId, accessToken: '1000' }, bearer(await idp.mint()))).status).toBe(200);
    const forged = await Promise.all(Array.from({ length: 20 }, (_, i) => idp.mint({ kid: `made-up-${i}` })));
    const answers = await Promise.all(forged.map((token) => postGraphQL(gateway.url, ImportSummaryDocument, { clientId, accessToken: '1000' }, bearer(token))));
    for (const answer of answers) expect(onlyError(answer).extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'INVALID_TOKEN' });
    expect(idp.jwksFetches).toBe(1);
  });

  it('100 subscribers with 100 different subjects and grants, over WebSocket and SSE, share one poller: one status poll per interval', async () => {
    const { simulator, idp, gateway } = await setup();
    const ref = await stagedImport(
      gateway,
      idp,
      simulator,
      Array.from({ length: 20 }, (_, i) => validRecord(i)),
    );
    // Three kinds of grants that all allow reading demo: subscribers with equal grants share an
    // execution whatever their transport, so the hub sees one listener per kind.
    const grants = [{}, { mypreferences_clients: '*' }, { mypreferences_clients: ['acme', clientId], scope: READ }];
    const tokenOf = (i: number) => idp.mint({ claims: { sub: `user-${i}`, ...grants[i % grants.length] } });
    const overWebSocket = await Promise.all(
      Array.from({ length: 90 }, async (_, i) =>
        record(wsClient(gateway.wsUrl, { connectionParams: { authorization: bearer(await tokenOf(i)) } }, cleanup), ImportStatusDocument, ref),
      ),
    );
    const overSse = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => sseSubscribe(gateway.url, queryText(ImportStatusDocument), ref, bearer(await tokenOf(90 + i)), cleanup)),
    );
    await Promise.all([...overWebSocket, ...overSse].map((subscriber) => subscriber.received(1)));
    expect(gateway.gateway.statusHub.stats()).toMatchObject({ pollers: 1, listeners: grants.length });
    expect(gateway.gateway.subscriptionStats().subscribers).toBe(100);

    simulator.requests.reset();
    const started = Date.now();
    await postGraphQL(gateway.url, ExecuteImportDocument, ref, bearer(await idp.mint()));
    await Promise.all([...overWebSocket, ...overSse].map((subscriber) => subscriber.done));
    const elapsedMs = Date.now() - started;
    const polls = simulator.requests.count('status');
    expect(polls).toBeGreaterThan(3);
    expect(polls).toBeLessThanOrEqual(Math.ceil(elapsedMs / (POLL_MS * 0.9)) + 1);
    for (const subscriber of overWebSocket) expect(statusSequence(subscriber).at(-1)).toBe('COMPLETED:20');
    for (const subscriber of overSse) expect(subscriber.results.at(-1)!.data!['importStatus']).toMatchObject({ status: 'COMPLETED', processed: 20 });
  });

  it('logs at trace level without a client secret, a service token or a caller JWT — nor in /metrics or /healthz', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const simulator = await startSimulator({ queueDelayMs: 20, recordsPerSecond: 100 });
    cleanup(() => simulator.stop());
    const idp = await startIdentityProvider(cleanup);
    const tokenEndpoint = await startRecordingTokenEndpoint(simulator, cleanup);
    const accounts = writeAccountsFile(simulator, cleanup, { tokenUrl: tokenEndpoint.url });
    const gateway = await startGateway(simulator.baseUrl, { ...idp.env(accounts), POLL_INTERVAL_MS: '50', LOG_LEVEL: 'trace' }, cleanup, {
      logger: createLogger('trace', sink),
    });

    // Everything a token can go through: the workflow, a subscription, a refused service token
    // (renewed and retried), refused callers, and a failing token endpoint.
    const callerTokens = [
      await idp.mint(),
      await idp.mint({ claims: { scope: READ } }),
      await idp.mint({ claims: { exp: Math.floor(Date.now() / 1000) - 60 } }),
    ];
    const [writer, reader, expired] = callerTokens.map(bearer) as [string, string, string];
    const initiated = await postGraphQL(gateway.url, InitiateImportDocument, { clientId, input: { name: 'hygiene' } }, writer);
    const ref = { clientId, accessToken: initiated.data!['initiateImport'].accessToken as string };
    await postGraphQL(gateway.url, StageImportDocument, { ...ref, records: [validRecord(1)] }, writer);
    const watcher = record(wsClient(gateway.wsUrl, { connectionParams: { authorization: reader } }, cleanup), ImportStatusDocument, ref);
    await watcher.received(1);
    simulator.expireTokens();
    await postGraphQL(gateway.url, ExecuteImportDocument, ref, writer);
    await watcher.done;
    await postGraphQL(gateway.url, ExecuteImportDocument, ref, reader);
    await postGraphQL(gateway.url, ImportSummaryDocument, ref, expired);
    const metrics = await (await fetch(`${gateway.origin}/metrics`)).text();
    const health = await (await fetch(`${gateway.origin}/healthz`)).text();

    expect(tokenEndpoint.tokens).toHaveLength(2);
    const log = lines.join('');
    expect(log).toContain('"level":20'); // the most verbose lines the gateway writes were written
    const secrets = [DEMO_ACCOUNT.oauthClients![0]!.clientSecret, ...tokenEndpoint.tokens, ...callerTokens];
    for (const secret of secrets) {
      expect(log).not.toContain(secret);
      expect(metrics).not.toContain(secret);
      expect(health).not.toContain(secret);
    }
  });

  it('writes an audit line for every mutation: subject, clientId, accessToken, operation, outcome — never a token', async () => {
    // Parsed strictly: a line with a key twice (two stacked child loggers) fails the test.
    const { logger, lines } = captureLogs('info');
    const simulator = await startSimulator();
    cleanup(() => simulator.stop());
    const idp = await startIdentityProvider(cleanup);
    const gateway = await startGateway(simulator.baseUrl, idp.env(writeAccountsFile(simulator, cleanup)), cleanup, { logger });

    const writer = await idp.mint({ claims: { sub: 'alice@example.com' } });
    const reader = await idp.mint({ claims: { sub: 'bob@example.com', scope: READ } });
    const initiated = await postGraphQL(gateway.url, InitiateImportDocument, { clientId, input: { name: 'audited' } }, bearer(writer));
    const accessToken = initiated.data!['initiateImport'].accessToken as string;
    await postGraphQL(gateway.url, ExecuteImportDocument, { clientId, accessToken }, bearer(reader));

    const audit = lines.filter((line) => line['component'] === 'audit');
    expect(audit).toEqual([
      expect.objectContaining({ level: 30, subject: 'alice@example.com', operation: 'initiateImport', clientId, accessToken, outcome: 'OK' }),
      expect.objectContaining({ level: 30, subject: 'bob@example.com', operation: 'executeImport', clientId, accessToken, outcome: 'FORBIDDEN' }),
    ]);
    const text = JSON.stringify(lines);
    expect(text).not.toContain(writer);
    expect(text).not.toContain(reader);
  });
});
