import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useCleanup } from '../helpers/cleanup.js';
import { startTsProcess } from '../helpers/process.js';

/**
 * The README's curl walk-through, run as written against `src/server.ts` with nothing configured
 * (only the port differs: the test takes a free one instead of 4000).
 */

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

function walkthroughScript(): string {
  const section = README.slice(README.indexOf('## Walk-through'));
  const script = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!script) throw new Error('README has no walk-through script');
  return script;
}

describe('README walk-through', () => {
  const cleanup = useCleanup();

  it('initiates, stages, executes, waits for COMPLETED and lists the failed records', async () => {
    const server = startTsProcess('src/server.ts', { PORT: '0', HOST: '127.0.0.1' }, cleanup);
    const { url } = await server.waitForLog((line) => typeof line['url'] === 'string');
    const script = walkthroughScript();
    expect(script).toContain('GQL=http://localhost:4000/graphql');

    const { stdout } = await promisify(execFile)('bash', ['-c', script.replace('GQL=http://localhost:4000/graphql', `GQL=${url}`)], {
      timeout: 15_000,
    });
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^accessToken: [1-9]\d*$/);
    expect(JSON.parse(lines[1]!).data.stageImport).toEqual({ status: 'STAGING', totalRecordsReceived: 5, validationSuccessful: 3, validationFailed: 2 });
    expect(JSON.parse(lines[2]!).data.executeImport).toMatchObject({ status: 'QUEUED' });
    expect(JSON.parse(lines.at(-2)!).data.importSummary).toMatchObject({ status: 'COMPLETED', progress: 1, processed: 2, exceptions: 1 });
    const failed = JSON.parse(lines.at(-1)!).data.importSummary.failedRecords;
    expect(failed).toMatchObject({ totalResults: 3, hasMore: false });
    expect(failed.records.map((record: { phase: string }) => record.phase)).toEqual(['STAGING', 'STAGING', 'EXECUTION']);
  });
});
