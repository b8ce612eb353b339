import type { Socket } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { ImportSummaryDocument, InitiateImportDocument } from '../../operations/generated.js';
import { DEMO_ACCOUNT, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startGateway } from '../helpers/gateway.js';
import { queryText } from '../helpers/graphql.js';
import { openRawWebSocket } from '../helpers/raw-websocket.js';
import { execute, wsClient } from '../helpers/ws-client.js';

/** Queries and mutations over graphql-ws take the same path as HTTP: context, credentials, validation, masking. */

const authorization = DEMO_ACCOUNT.credentials[0]!.value;
const clientId = DEMO_ACCOUNT.clientId;

describe('GraphQL over WebSocket', () => {
  const cleanup = useCleanup();

  async function setup() {
    const simulator = await startSimulator();
    cleanup(() => simulator.stop());
    return { simulator, gateway: await startGateway(simulator.baseUrl, {}, cleanup) };
  }

  it.each([
    ['connectionParams.authorization', { connectionParams: { authorization } }],
    ['connectionParams.Authorization', { connectionParams: { Authorization: authorization } }],
    ['the upgrade request header', { headers: { authorization } }],
  ])('takes the credential from %s', async (_where, options) => {
    const { simulator, gateway } = await setup();
    const client = wsClient(gateway.wsUrl, options, cleanup);
    const result = await execute(client, InitiateImportDocument, { clientId, input: { name: 'over ws' } });
    expect(result.errors).toBeUndefined();
    expect(result.data!['initiateImport']).toMatchObject({ status: 'INITIATED', name: 'over ws' });
    expect(simulator.requests.entries[0]).toMatchObject({ route: 'initiate', credentialLabel: DEMO_ACCOUNT.credentials[0]!.label });
  });

  it('prefers connectionParams over the upgrade header', async () => {
    const { simulator, gateway } = await setup();
    const readOnly = DEMO_ACCOUNT.credentials[1]!;
    const client = wsClient(gateway.wsUrl, { connectionParams: { authorization: readOnly.value }, headers: { authorization } }, cleanup);
    const result = await execute(client, InitiateImportDocument, { clientId, input: { name: 'x' } });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', upstreamStatus: 403 });
    expect(simulator.requests.entries[0]?.credentialLabel).toBe(readOnly.label);
  });

  it('answers a missing credential with UNAUTHENTICATED and no upstream request', async () => {
    const { simulator, gateway } = await setup();
    const client = wsClient(gateway.wsUrl, {}, cleanup);
    const result = await execute(client, ImportSummaryDocument, { clientId, accessToken: '1000' });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(simulator.requests.count()).toBe(0);
  });

  it('answers syntax and validation errors as errors, keeping the connection open', async () => {
    const { gateway } = await setup();
    const client = wsClient(gateway.wsUrl, { connectionParams: { authorization } }, cleanup);
    const syntax = await execute(client, '{ importSummary(');
    const unknownField = await execute(client, '{ nothingHere }');
    expect(syntax.errors?.[0]?.message).toMatch(/Syntax Error/);
    expect(unknownField.errors?.[0]?.message).toMatch(/nothingHere/);
    const result = await execute(client, InitiateImportDocument, { clientId, input: { name: 'still open' } });
    expect(result.errors).toBeUndefined();
  });

  it('applies the same argument validation as HTTP', async () => {
    const { simulator, gateway } = await setup();
    const client = wsClient(gateway.wsUrl, { connectionParams: { authorization } }, cleanup);
    const result = await execute(client, ImportSummaryDocument, { clientId: '..', accessToken: 'abc' });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(simulator.requests.count()).toBe(0);
  });

  it("runs nothing a client sends after the server's close frame: a client ignoring the drain's 1001 and sending writes is cut, its writes never run", async () => {
    const { simulator, gateway } = await setup();
    const serverSide = new Promise<Socket>((resolve) => gateway.gateway.server.once('upgrade', (_request, socket: Socket) => resolve(socket)));
    const client = await openRawWebSocket(gateway.wsUrl, cleanup);
    client.sendText(JSON.stringify({ type: 'connection_init', payload: { authorization } }));
    await client.nextMessage('connection_ack');

    const drained = gateway.gateway.drain({ windowMs: 0, deadlineMs: 10_000 });
    expect((await client.closeFrame).code).toBe(1001);
    // Writes a client would send again to another replica: run here too, they would run twice.
    for (let i = 0; i < 5; i++) {
      const payload = { query: queryText(InitiateImportDocument), variables: { clientId, input: { name: `after close ${i}` } } };
      client.sendText(JSON.stringify({ id: `w${i}`, type: 'subscribe', payload }));
    }
    const server = await serverSide;
    await vi.waitFor(() => expect(server.bytesRead).toBe(client.socket.bytesWritten), { timeout: 5_000, interval: 5 });
    await client.ended;
    await drained;
    expect(simulator.requests.count('initiate')).toBe(0);
  });
});
