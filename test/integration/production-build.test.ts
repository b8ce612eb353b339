import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { InitiateImportDocument } from '../../operations/generated.js';
import { useCleanup } from '../helpers/cleanup.js';
import { postGraphQL } from '../helpers/graphql.js';
import { startNodeProcess } from '../helpers/process.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

/**
 * What production runs: `npm run build` (tsc with tsconfig.build.json) and `node dist/server.js`,
 * no TypeScript loader. The build goes to a folder of its own inside the repository (the bench
 * smoke test builds `dist/` at the same time; inside the repository, node_modules resolves). The
 * command line (`bulk-import`, package.json's bin) is part of the same build.
 */
describe('the production build', () => {
  const cleanup = useCleanup();

  it('compiles with tsconfig.build.json, and node on the output serves /readyz and the workflow with nothing configured, its store in ./data', async () => {
    const outDir = join(ROOT, `.test-build/${process.pid}`);
    cleanup(() => rmSync(outDir, { recursive: true, force: true }));
    await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: ROOT });
    expect(existsSync(join(outDir, 'server.js'))).toBe(true);

    // Run where a deployment would (not in the repository): the default DATA_DIR is ./data there,
    // and the compiled migrations travel inside the build.
    const workingDir = mkdtempSync(join(tmpdir(), 'production-build-'));
    cleanup(() => rmSync(workingDir, { recursive: true, force: true }));
    const server = startNodeProcess([join(outDir, 'server.js')], { PORT: '0', HOST: '127.0.0.1' }, cleanup, { cwd: workingDir });
    const notice = await server.waitForLog((line) => typeof line['simulator'] === 'string');
    const listening = await server.waitForLog((line) => typeof line['url'] === 'string');
    const url = listening['url'] as string;
    expect((await fetch(`${new URL(url).origin}/readyz`)).status).toBe(200);
    const initiated = await postGraphQL(url, InitiateImportDocument, { clientId: 'demo', input: { name: 'from dist' } }, notice['demoAuthorization']);
    expect(initiated.data?.['initiateImport']).toMatchObject({ status: 'INITIATED' });

    expect(existsSync(join(workingDir, 'data', 'gateway.sqlite'))).toBe(true);

    // The command line the package installs (package.json's bin) runs from the same build.
    const { bin } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(bin).toEqual({ 'bulk-import': 'dist/cli/bulk-import.js' });
    const cli = join(outDir, 'cli/bulk-import.js');
    expect(readFileSync(cli, 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
    writeFileSync(join(workingDir, 'records.ndjson'), '{"ProfileId":"p-1"}\n{"ProfileId":"p-2"}\n');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [cli, 'upload', 'records.ndjson', '--client', 'demo', '--gateway', new URL(url).origin, '--no-execute', '--json'],
      { cwd: workingDir, env: { PATH: process.env['PATH'] ?? '', HOME: workingDir } },
    );
    expect(JSON.parse(stdout.trimEnd().split('\n').at(-1)!)).toMatchObject({ type: 'summary', outcome: 'COMPLETED', exitCode: 0, job: { recordsStaged: 2 } });

    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
  }, 120_000);
});
