import { describe, expect, it } from 'vitest';
import { useCleanup } from '../helpers/cleanup.js';
import { postGraphQL } from '../helpers/graphql.js';
import { InitiateImportDocument } from '../../operations/generated.js';
import { startTsProcess } from '../helpers/process.js';

/** `npm start` with nothing configured: the real entry point as its own process. */
describe('src/server.ts', () => {
  const cleanup = useCleanup();

  it('starts the built-in simulator, says so, serves the workflow, and exits 0 on SIGTERM', async () => {
    const server = startTsProcess('src/server.ts', { PORT: '0', HOST: '127.0.0.1' }, cleanup);
    const notice = await server.waitForLog((line) => typeof line['simulator'] === 'string');
    const listening = await server.waitForLog((line) => typeof line['url'] === 'string');
    expect(notice['level']).toBe(40); // warn: loud on purpose
    expect(notice['msg']).toMatch(/BUILT-IN SIMULATOR/);
    expect(notice['clientId']).toBe('demo');

    const url = listening['url'] as string;
    const origin = new URL(url).origin;
    expect((await fetch(`${origin}/healthz`)).status).toBe(200);
    expect((await fetch(`${origin}/readyz`)).status).toBe(200);
    const graphiql = await fetch(url, { headers: { accept: 'text/html' } });
    expect(graphiql.headers.get('content-type')).toMatch(/text\/html/);

    const initiated = await postGraphQL(url, InitiateImportDocument, { clientId: 'demo', input: { name: 'from npm start' } }, notice['demoAuthorization']);
    expect(initiated.data?.['initiateImport']).toMatchObject({ status: 'INITIATED' });

    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(server.stdout()).not.toContain('"authorization"');
  });

  it('refuses an invalid variable at start, naming it', async () => {
    const server = startTsProcess('src/server.ts', { PORT: 'not-a-port' }, cleanup);
    expect((await server.exited).code).toBe(2);
    expect(server.stderr()).toMatch(/PORT must be a whole number/);
  });
});
