import { EventEmitter } from 'node:events';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ImportStatusDocument, ImportSummaryDocument, InitiateImportDocument } from '../../operations/generated.js';
import { createLogger } from '../../src/logger.js';
import { DEMO_ACCOUNT, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startGateway } from '../helpers/gateway.js';
import { queryText } from '../helpers/graphql.js';
import { parseLogLine } from '../helpers/log-capture.js';
import { record } from '../helpers/subscriptions.js';
import { execute, wsClient } from '../helpers/ws-client.js';

/**
 * `x-request-id`: a caller's well-formed id is kept, anything else replaced by a new one; every
 * answer carries it (GraphQL, health, metrics, refusals, 404s, WebSocket upgrades), and so does
 * every log line of the request, the access line of each operation included.
 */

const importer = DEMO_ACCOUNT.credentials[0]!;
const clientId = DEMO_ACCOUNT.clientId;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('request ids and the access log', () => {
  const cleanup = useCleanup();

  /** `failOn`: lines the sink refuses by throwing, as a full disk would (the logger call throws). */
  async function setup(env: Record<string, string> = {}, { failOn }: { failOn?: (line: Record<string, any>) => boolean } = {}) {
    const simulator = await startSimulator();
    cleanup(() => simulator.stop());
    const lines: Record<string, any>[] = [];
    const written = new EventEmitter();
    const sink = new Writable({
      write(chunk, _encoding, done) {
        const received = String(chunk)
          .split('\n')
          .filter((text) => text.trim() !== '')
          // Strictly: a key twice in one line (two stacked child loggers) fails the test.
          .map(parseLogLine);
        const refused = received.some((line) => failOn?.(line));
        lines.push(...received.filter((line) => !failOn?.(line)));
        written.emit('line');
        done();
        // After done(), so the stream takes the next write; the logger call that wrote this one throws.
        if (refused) throw new Error('log sink failed');
      },
    });
    /** Resolves with the first access line matching `predicate`, as lines are written. */
    const accessLine = (predicate: (line: Record<string, any>) => boolean) =>
      new Promise<Record<string, any>>((resolve) => {
        const check = () => {
          const found = accessLines().find(predicate);
          if (!found) return;
          written.off('line', check);
          resolve(found);
        };
        written.on('line', check);
        check();
      });
    const gateway = await startGateway(simulator.baseUrl, env, cleanup, { logger: createLogger('debug', sink) });
    const post = (query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}) =>
      fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: importer.value, ...headers },
        body: JSON.stringify({ query, variables }),
      });
    const accessLines = () => lines.filter((line) => line['component'] === 'access');
    return { gateway, lines, accessLines, accessLine, post };
  }

  it("keeps a well-formed x-request-id, answers it, and logs the operation's access line with it", async () => {
    const { post, lines, accessLines } = await setup();
    const response = await post(queryText(InitiateImportDocument), { clientId, input: { name: 'ids' } }, { 'x-request-id': 'req-42.abc_DEF:1' });
    expect(response.status).toBe(200);
    await response.json();
    expect(response.headers.get('x-request-id')).toBe('req-42.abc_DEF:1');

    expect(accessLines()).toEqual([
      expect.objectContaining({
        level: 30,
        requestId: 'req-42.abc_DEF:1',
        operation: 'InitiateImport',
        operationType: 'mutation',
        durationMs: expect.any(Number),
        errorCodes: [],
        transport: 'http',
        subject: expect.any(String),
        msg: 'mutation InitiateImport',
      }),
    ]);
    // Every line of the request carries the id (its upstream call's, the mutation's audit line); none the credential.
    const ofRequest = lines.filter((line) => ['upstream', 'audit', 'access'].includes(line['component']));
    expect(ofRequest.map((line) => line['msg'])).toEqual(['upstream call', 'initiateImport OK', 'mutation InitiateImport']);
    expect(ofRequest.every((line) => line['requestId'] === 'req-42.abc_DEF:1')).toBe(true);
    expect(JSON.stringify(lines)).not.toContain(importer.value.split(' ')[1]);
  });

  it('logs a refused document too: one line with the code the caller got', async () => {
    const { post, accessLines, gateway } = await setup();
    await (await post('query Broken { importSummary(', {}, { 'x-request-id': 'parse-1' })).arrayBuffer();
    await (await post('query Unknown { noSuchField }', {}, { 'x-request-id': 'validate-2' })).arrayBuffer();
    const client = wsClient(gateway.wsUrl, { connectionParams: { authorization: importer.value }, headers: { 'x-request-id': 'ws-validate-3' } }, cleanup);
    expect((await execute(client, 'query OverWs { noSuchField }')).errors?.[0]?.extensions?.['code']).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(accessLines()).toEqual([
      expect.objectContaining({ requestId: 'parse-1', operation: null, operationType: 'unknown', errorCodes: ['GRAPHQL_PARSE_FAILED'], transport: 'http' }),
      expect.objectContaining({ requestId: 'validate-2', operation: 'Unknown', operationType: 'query', errorCodes: ['GRAPHQL_VALIDATION_FAILED'] }),
      expect.objectContaining({ requestId: 'ws-validate-3', operation: 'OverWs', errorCodes: ['GRAPHQL_VALIDATION_FAILED'], transport: 'websocket' }),
    ]);
  });

  it.each([
    ['too long', 'x'.repeat(129)],
    ['with spaces', 'two words'],
    ['with quotes', 'a"b'],
    ['empty', ''],
  ])('replaces an x-request-id %s with a new one, and logs that one', async (_what, sent) => {
    const { post, accessLines } = await setup();
    const response = await post(queryText(ImportSummaryDocument), { clientId, accessToken: 'no such import' }, { 'x-request-id': sent });
    await response.json();
    const answered = response.headers.get('x-request-id');
    expect(answered).toMatch(UUID);
    expect(accessLines()).toEqual([expect.objectContaining({ requestId: answered, operation: 'ImportSummary', errorCodes: [expect.any(String)] })]);
  });

  it('answers an id on every path: health, metrics, 404, refusals before the body is read', async () => {
    const { gateway } = await setup({ MAX_REQUEST_BYTES: String(128 * 1024) });
    for (const path of ['/healthz', '/readyz', '/metrics', '/no-such-path', '/graphql?query=%7B__typename%7D']) {
      const response = await fetch(`${gateway.origin}${path}`);
      await response.arrayBuffer();
      expect([path, response.headers.get('x-request-id')]).toEqual([path, expect.stringMatching(UUID)]);
      const kept = await fetch(`${gateway.origin}${path}`, { headers: { 'x-request-id': `kept-${path.length}` } });
      await kept.arrayBuffer();
      expect([path, kept.headers.get('x-request-id')]).toEqual([path, `kept-${path.length}`]);
    }
    // Refused from the headers alone, the body never read: 413 over the limit, 401 a large body without a credential.
    const tooLarge = await headersOf(gateway.url, { 'content-length': '200000', 'content-type': 'application/json', 'x-request-id': 'too-big-1' });
    expect(tooLarge).toMatchObject({ status: 413, headers: { 'x-request-id': 'too-big-1' } });
    const anonymous = await headersOf(gateway.url, { 'content-length': '70000', 'content-type': 'application/json', 'x-request-id': 'anonymous-2' });
    expect(anonymous).toMatchObject({ status: 401, headers: { 'x-request-id': 'anonymous-2' } });
  });

  it("gives a WebSocket connection its upgrade's id: in the 101, and in the access line of each operation", async () => {
    const { gateway, accessLines, accessLine } = await setup();
    const upgraded = new Promise<IncomingHttpHeaders>((resolve, reject) => {
      const socket = new WebSocket(gateway.wsUrl, 'graphql-transport-ws', { headers: { 'x-request-id': 'ws-upgrade-7' } });
      socket.once('upgrade', (response) => {
        resolve(response.headers);
        socket.close();
      });
      socket.once('error', reject);
    });
    expect((await upgraded)['x-request-id']).toBe('ws-upgrade-7');

    const client = wsClient(gateway.wsUrl, { connectionParams: { authorization: importer.value }, headers: { 'x-request-id': 'ws-conn-8' } }, cleanup);
    const initiated = await execute(client, InitiateImportDocument, { clientId, input: { name: 'ws ids' } });
    const ref = { clientId, accessToken: initiated.data!['initiateImport'].accessToken as string };
    expect(accessLines()).toEqual([expect.objectContaining({ requestId: 'ws-conn-8', operation: 'InitiateImport', transport: 'websocket', errorCodes: [] })]);

    // A subscription's line is written when it ends, here when its subscriber completes it.
    const watching = record(client, ImportStatusDocument, ref);
    await watching.received(1);
    expect(accessLines()).toHaveLength(1);
    watching.unsubscribe();
    const ended = await accessLine((line) => line['operation'] === 'ImportStatus');
    expect(ended).toMatchObject({ requestId: 'ws-conn-8', operationType: 'subscription', transport: 'websocket', durationMs: expect.any(Number) });

    // A refused upgrade answers the id too.
    const refusedUpgrade = await headersOf(`${gateway.origin}/elsewhere`, { connection: 'Upgrade', upgrade: 'websocket', 'x-request-id': 'ws-refused-9' });
    expect(refusedUpgrade).toMatchObject({ status: 404, headers: { 'x-request-id': 'ws-refused-9' } });
  });

  it('logs a WebSocket operation refused before it runs: one past the connection cap, a document over the abuse limits', async () => {
    const { gateway, accessLines, accessLine, post } = await setup({ WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '1', GRAPHQL_MAX_ALIASES: '1' });
    const client = wsClient(gateway.wsUrl, { connectionParams: { authorization: importer.value }, headers: { 'x-request-id': 'ws-cap-1' } }, cleanup);
    const initiated = await execute(client, InitiateImportDocument, { clientId, input: { name: 'ws refusals' } });
    const ref = { clientId, accessToken: initiated.data!['initiateImport'].accessToken as string };
    const subject = accessLines()[0]!['subject'] as string;
    expect(subject).toEqual(expect.any(String));

    // One subscription open fills the connection; the next operation is refused before its document is read.
    const watching = record(client, ImportStatusDocument, ref);
    await watching.received(1);
    const refused = await execute(client, ImportSummaryDocument, ref);
    expect(refused.errors?.[0]?.extensions?.['code']).toBe('TOO_MANY_SUBSCRIPTIONS');
    expect(accessLines().slice(1)).toEqual([
      expect.objectContaining({
        requestId: 'ws-cap-1',
        operation: null,
        operationType: 'unknown',
        durationMs: expect.any(Number),
        errorCodes: ['TOO_MANY_SUBSCRIPTIONS'],
        transport: 'websocket',
        subject,
      }),
    ]);
    watching.unsubscribe();
    await accessLine((line) => line['operation'] === 'ImportStatus');

    // A document armor refuses while validating (its rule throws rather than reporting), over
    // WebSocket and HTTP alike: a line with the code the caller got and the document's name.
    const aliased = `query Aliased { a: importSummary(clientId: "${clientId}", accessToken: "1") { status } b: importSummary(clientId: "${clientId}", accessToken: "1") { status } }`;
    expect((await execute(client, aliased)).errors?.[0]?.extensions?.['code']).toBe('BAD_REQUEST');
    const overHttp = await post(aliased, {}, { 'x-request-id': 'http-aliased-2' });
    expect(((await overHttp.json()) as { errors?: Array<{ extensions?: { code?: string } }> }).errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
    expect(accessLines().slice(3)).toEqual([
      expect.objectContaining({
        requestId: 'ws-cap-1',
        operation: 'Aliased',
        operationType: 'query',
        errorCodes: ['BAD_REQUEST'],
        transport: 'websocket',
        subject,
      }),
      expect.objectContaining({
        requestId: 'http-aliased-2',
        operation: 'Aliased',
        operationType: 'query',
        errorCodes: ['BAD_REQUEST'],
        transport: 'http',
        subject,
      }),
    ]);
  });

  it("logs an operation's unexpected error once, with its request id, over HTTP and WebSocket", async () => {
    // The mutation's audit line cannot be written: its resolver fails with a plain Error, which the mask hides.
    const { gateway, lines, post } = await setup({}, { failOn: (line) => line['component'] === 'audit' });
    const response = await post(queryText(InitiateImportDocument), { clientId, input: { name: 'unexpected' } }, { 'x-request-id': 'unexpected-1' });
    const answered = (await response.json()) as { errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
    expect(answered.errors).toEqual([
      expect.objectContaining({ message: 'Unexpected error.', extensions: expect.objectContaining({ code: 'INTERNAL_SERVER_ERROR' }) }),
    ]);
    const client = wsClient(gateway.wsUrl, { connectionParams: { authorization: importer.value }, headers: { 'x-request-id': 'ws-unexpected-2' } }, cleanup);
    expect((await execute(client, InitiateImportDocument, { clientId, input: { name: 'unexpected' } })).errors?.[0]?.extensions?.['code']).toBe(
      'INTERNAL_SERVER_ERROR',
    );

    const errorLines = lines.filter((line) => line['msg'] === 'graphql error');
    expect(errorLines).toEqual([
      expect.objectContaining({ level: 50, component: 'graphql', requestId: 'unexpected-1', err: expect.objectContaining({ message: 'log sink failed' }) }),
      expect.objectContaining({ level: 50, component: 'graphql', requestId: 'ws-unexpected-2', err: expect.objectContaining({ message: 'log sink failed' }) }),
    ]);
    expect(JSON.stringify(lines)).not.toContain(importer.value.split(' ')[1]);
  });
});

/**
 * The status and headers of the answer to a POST (a GET with `upgrade`) that sends `headers` and
 * no body: refusals answer from the headers alone, before any body is read.
 */
function headersOf(url: string, headers: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const upgrade = headers['upgrade'] !== undefined;
    const request = httpRequest(url, { method: upgrade ? 'GET' : 'POST', headers });
    const answered = (status: number, answerHeaders: IncomingHttpHeaders) => {
      resolve({ status, headers: answerHeaders });
      request.destroy();
    };
    request.once('response', (response) => answered(response.statusCode ?? 0, response.headers));
    request.once('upgrade', (response) => answered(response.statusCode ?? 0, response.headers));
    request.once('error', reject);
    if (!upgrade) request.flushHeaders();
    else request.end();
  });
}
