import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { ImportSummaryDocument } from '../../operations/generated.js';
import { createLogger } from '../../src/logger.js';
import { useCleanup } from '../helpers/cleanup.js';
import { importState, startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';
import { onlyError, postGraphQL } from '../helpers/graphql.js';

/**
 * The circuit breaker judges the upstream's health, not one request's bad luck: a failure rate
 * over a window with a minimum of calls, one outcome per client call, per clientId — so one
 * tenant (or one import) that keeps failing never pauses anybody else.
 */

const credential = 'Bearer fake-upstream-credential';
/** acme's import 13 answers 500; everything else answers its state. */
const failing = { clientId: 'acme', accessToken: '13' };
const healthy = { clientId: 'acme', accessToken: '14' };
const otherTenant = { clientId: 'globex', accessToken: '15' };

describe('circuit breaker', () => {
  const cleanup = useCleanup();

  async function setup(env: Record<string, string> = {}) {
    const upstream = await startFakeUpstream((request, response) => {
      const status = request.rawPath.includes('/acme/Import/13/') ? 500 : 200;
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(status === 200 ? importState({ Status: 'Staging' }) : { Message: 'An error has occurred.' }));
    });
    cleanup(() => upstream.stop());
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const gateway = await startGateway(
      upstream.baseUrl,
      { UPSTREAM_RETRY_ATTEMPTS: '3', UPSTREAM_RETRY_BASE_MS: '5', UPSTREAM_RETRY_MAX_MS: '10', UPSTREAM_BREAKER_MIN_CALLS: '5', UPSTREAM_BREAKER_OPEN_MS: '60000', ...env },
      cleanup,
      { logger: createLogger('warn', sink) },
    );
    const summary = (ref: typeof failing) => postGraphQL(gateway.url, ImportSummaryDocument, ref, credential);
    return { upstream, gateway, lines, summary };
  }

  it('counts one outcome per call, not per attempt: a few failed calls open nothing, for anyone', async () => {
    const { upstream, summary } = await setup();
    for (let i = 0; i < 3; i++) expect(onlyError(await summary(failing)).extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', upstreamStatus: 500 });
    // Three calls, nine attempts upstream: below the minimum of five calls, so still closed.
    expect(upstream.requests).toHaveLength(9);
    expect((await summary(otherTenant)).errors).toBeUndefined();
    expect((await summary(healthy)).errors).toBeUndefined();
    expect(onlyError(await summary(failing)).extensions?.['upstreamStatus']).toBe(500);
  });

  it('a clientId that keeps failing opens its own circuit only; other tenants go through; open/half-open/close logged and exported', async () => {
    const { gateway, lines, summary, upstream } = await setup({ UPSTREAM_RETRY_ATTEMPTS: '1' });
    for (let i = 0; i < 5; i++) await summary(failing);
    expect(onlyError(await summary(failing)).extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason: 'CIRCUIT_OPEN' });
    expect(onlyError(await summary(healthy)).extensions).toMatchObject({ reason: 'CIRCUIT_OPEN' });
    expect(upstream.requests).toHaveLength(5);

    const others = await Promise.all(Array.from({ length: 20 }, () => summary(otherTenant)));
    expect(others.every((answer) => answer.errors === undefined)).toBe(true);

    expect(lines.filter((line) => line['level'] === 40 && line['to'] === 'open')).toEqual([
      expect.objectContaining({ clientId: 'acme', from: 'closed', to: 'open', calls: 5, failures: 5 }),
    ]);
    const metrics = await (await fetch(`${gateway.origin}/metrics`)).text();
    expect(metrics).toContain('bulk_import_gateway_upstream_circuit_state{client_id="acme"} 2');
    expect(metrics).not.toContain('client_id="globex"');
    expect(metrics).toMatch(/bulk_import_gateway_upstream_circuits_open 1/);
  });

  it('judges the rate: one failing import among a tenant\'s healthy ones keeps the circuit closed', async () => {
    const { summary } = await setup({ UPSTREAM_RETRY_ATTEMPTS: '1' });
    for (let round = 0; round < 5; round++) {
      await summary(failing);
      for (let i = 0; i < 2; i++) expect((await summary(healthy)).errors).toBeUndefined();
    }
    // 5 failures in 15 calls: a third, under the 50 % rate.
    expect(onlyError(await summary(failing)).extensions?.['upstreamStatus']).toBe(500);
  });

  it('closes through a half-open probe, logging each step', async () => {
    const { gateway, lines, summary, upstream } = await setup({ UPSTREAM_RETRY_ATTEMPTS: '1', UPSTREAM_BREAKER_OPEN_MS: '200' });
    for (let i = 0; i < 5; i++) await summary(failing);
    upstream.respond((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(importState({ Status: 'Staging' })));
    });
    expect(onlyError(await summary(failing)).extensions).toMatchObject({ reason: 'CIRCUIT_OPEN' });
    await vi.waitFor(() => expect(gateway.gateway.upstream.stats().circuits.get('acme')).toBe('half-open'), { interval: 20 });
    expect((await summary(failing)).errors).toBeUndefined();
    expect(lines.filter((line) => line['level'] === 40 && typeof line['to'] === 'string').map((line) => `${line['from']}→${line['to']}`)).toEqual([
      'closed→open',
      'open→half-open',
      'half-open→closed',
    ]);
  });
});
