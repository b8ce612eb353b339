import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CancelImportJobDocument, ImportJobDocument } from '../../operations/generated.js';
import { DEMO_ACCOUNT, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { postGraphQL } from '../helpers/graphql.js';
import { freePort } from '../helpers/ports.js';
import { type StartedProcess, startNodeProcess, startTsProcess } from '../helpers/process.js';
import { validRecord } from '../helpers/records.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const CLI = ['--import', 'tsx', 'src/cli/bulk-import.ts'];
const STACK_FRAME = /^\s+at /m;
/** Quick polls, so an import's end is seen within a test's patience (a job's import is watched). */
const QUICK_POLLS = { POLL_INTERVAL_MS: '200', IDLE_POLL_INTERVAL_MS: '200', WATCH_INTERVAL_MS: '200', JOB_SCAN_MS: '200' };

/**
 * `bulk-import`, the command line, as a script runs it: a child process against a real gateway
 * with nothing configured (the built-in simulator, the development issuer) on a free port, its
 * output and exit code asserted.
 */
describe('bulk-import (the CLI) against a zero-config gateway', () => {
  const cleanup = useCleanup();

  interface Gateway {
    origin: string;
    graphql: string;
    authorization: string;
    process: StartedProcess;
  }

  async function startGateway(): Promise<Gateway> {
    const server = startTsProcess('src/server.ts', { PORT: '0', HOST: '127.0.0.1', SIMULATOR_RECORDS_PER_SECOND: '20000', ...QUICK_POLLS }, cleanup);
    const notice = await server.waitForLog((line) => typeof line['demoAuthorization'] === 'string');
    const { url } = await server.waitForLog((line) => typeof line['url'] === 'string');
    return { origin: new URL(url as string).origin, graphql: url as string, authorization: notice['demoAuthorization'] as string, process: server };
  }

  /** A folder of the test's own: the records file and the CLI's state (XDG_CACHE_HOME). */
  function workspace() {
    const directory = mkdtempSync(join(tmpdir(), 'cli-e2e-'));
    cleanup(() => rmSync(directory, { recursive: true, force: true }));
    const cache = join(directory, 'cache');
    return {
      env: { XDG_CACHE_HOME: cache },
      states: () => (existsSync(join(cache, 'bulk-import-gateway/uploads')) ? readdirSync(join(cache, 'bulk-import-gateway/uploads')) : []),
      ndjson(records: number, name = 'people.ndjson') {
        const path = join(directory, name);
        writeFileSync(path, Array.from({ length: records }, (_, i) => `${JSON.stringify(validRecord(i + 1))}\n`).join(''));
        return path;
      },
      write(name: string, content: string) {
        const path = join(directory, name);
        writeFileSync(path, content);
        return path;
      },
    };
  }

  /** The CLI run to its end: exit code and output. */
  async function run(args: string[], env: Record<string, string>) {
    return promisify(execFile)(process.execPath, [...CLI, ...args], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
    );
  }

  const jsonLines = (stdout: string) =>
    stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, any>);

  async function jobOf(gateway: Gateway, id: string) {
    const { data, errors } = await postGraphQL(gateway.graphql, ImportJobDocument, { id }, gateway.authorization);
    expect(errors).toBeUndefined();
    return data!.importJob;
  }

  it('completes an import with visible progress, and exits 0', async () => {
    const gateway = await startGateway();
    const files = workspace();
    const file = files.ndjson(3000);
    const { code, stdout, stderr } = await run(['upload', file, '--client', 'demo', '--gateway', gateway.origin, '--chunk-size', '64k'], files.env);

    expect({ code, stdout }).toEqual({ code: 0, stdout: '' });
    const lines = stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^Job \S+ created for client demo: uploading .*people\.ndjson \(\d+ KiB, NDJSON, executes once uploaded\)$/);
    // Bytes staged grow through several requests, then the import's progress runs to its end.
    const staged = lines.filter((line) => /^ *\d+% (CREATED|STAGING) \d/.test(line));
    expect(staged.length).toBeGreaterThan(2);
    expect(lines).toContain(`Uploaded: ${lines[0]!.match(/\((\d+ KiB)/)![1]}, every record staged`);
    expect(lines.some((line) => /^ *\d+% EXECUTING import /.test(line))).toBe(true);
    expect(lines.at(-1)).toMatch(/^COMPLETED: job \S+, 3,000 records staged; import COMPLETED: 3,000 processed, 0 exceptions, 0 failed validation$/);
    expect(stderr).not.toContain(gateway.authorization.replace('Bearer ', ''));

    const jobId = lines[0]!.split(' ')[1]!;
    const job = await jobOf(gateway, jobId);
    expect(job).toMatchObject({ state: 'COMPLETED', recordsStaged: 3000, recordsRejected: 0, import: { status: 'COMPLETED', totalRecordsReceived: 3000 } });
    expect(files.states()).toEqual([]);
  }, 60_000);

  it('--json: one event a line on stdout and nothing else, the summary last', async () => {
    const gateway = await startGateway();
    const files = workspace();
    const file = files.write(
      'mixed.ndjson',
      `${JSON.stringify(validRecord(1))}\nnot json\n${JSON.stringify(validRecord(2))}\n[1, 2]\n${JSON.stringify(validRecord(3))}`,
    );
    const { code, stdout, stderr } = await run(['upload', file, '--client', 'demo', '--gateway', gateway.origin, '--json', '--no-execute'], files.env);

    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const events = jsonLines(stdout);
    expect(events[0]).toMatchObject({
      type: 'job',
      action: 'created',
      bytesTotal: expect.any(Number),
      job: { state: 'CREATED', execute: false, format: 'NDJSON' },
    });
    expect(events.map((event) => event.type)).toContain('state');
    expect(events.filter((event) => event.type === 'summary')).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({
      type: 'summary',
      outcome: 'COMPLETED',
      exitCode: 0,
      job: { state: 'COMPLETED', recordsStaged: 3, recordsRejected: 2 },
      rejectedLines: [
        { line: 2, reason: expect.any(String) },
        { line: 4, reason: expect.any(String) },
      ],
    });
  }, 60_000);

  it('reads CSV with --csv', async () => {
    const gateway = await startGateway();
    const files = workspace();
    const rows = Array.from({ length: 200 }, (_, i) => `p-${i + 1},person${i + 1}@example.com`);
    const file = files.write('people.csv', `ProfileId,Emails.0.EmailAddress\n${rows.join('\n')}\n`);
    const { code, stdout } = await run(
      ['upload', file, '--client', 'demo', '--gateway', gateway.origin, '--csv', '--json', '--name', 'CSV from the CLI'],
      files.env,
    );
    expect(code).toBe(0);
    expect(jsonLines(stdout).at(-1)).toMatchObject({
      outcome: 'COMPLETED',
      job: { format: 'CSV', recordsStaged: 200, import: { status: 'COMPLETED', processed: 200 } },
    });
  }, 60_000);

  it('resumes after an interruption: the same command again continues the same job, and every record is staged once', async () => {
    const gateway = await startGateway();
    const files = workspace();
    const records = 4000;
    const file = files.ndjson(records);
    const args = ['upload', file, '--client', 'demo', '--gateway', gateway.origin, '--json', '--chunk-size', '16k'];

    const first = startNodeProcess([...CLI, ...args], files.env, cleanup);
    const staged = await first.waitForLog((event) => event['type'] === 'upload' && event['bytesStaged'] > 0);
    // Hold the gateway still, so the interrupt lands mid-upload whatever the machine's speed.
    gateway.process.child.kill('SIGSTOP');
    cleanup(() => gateway.process.child.kill('SIGCONT'));
    first.child.kill('SIGINT');
    expect((await first.exited).code).toBe(4);
    gateway.process.child.kill('SIGCONT');
    const interrupted = jsonLines(first.stdout()).at(-1)!;
    expect(interrupted).toMatchObject({ type: 'summary', outcome: 'INTERRUPTED', exitCode: 4, resume: expect.stringContaining('--resume ') });
    expect(first.stderr()).toMatch(/^Interrupted: job \S+ is (CREATED|STAGING), .* staged; its upload is kept: run the same command again to resume\nResume: /);
    expect(files.states()).toHaveLength(1);

    const second = await run(args, files.env);
    expect(second.code).toBe(0);
    const events = jsonLines(second.stdout);
    const jobId = (jsonLines(first.stdout())[0] as { job: { id: string } }).job.id;
    expect(events[0]).toMatchObject({ type: 'job', action: 'resumed', job: { id: jobId } });
    expect(events[0]!['job'].bytesStaged).toBeGreaterThanOrEqual(staged['bytesStaged']);
    expect(events[0]!['job'].bytesStaged).toBeLessThan(events[0]!['bytesTotal']);
    expect(events.at(-1)).toMatchObject({ outcome: 'COMPLETED', job: { id: jobId, recordsStaged: records } });
    const job = await jobOf(gateway, jobId);
    expect(job).toMatchObject({ state: 'COMPLETED', recordsStaged: records, import: { totalRecordsReceived: records, processed: records } });
    expect(files.states()).toEqual([]);
  }, 90_000);

  it("resumed after an interruption, the upstream receives every record exactly once (the simulator's receipts; passthrough, --token)", async () => {
    const simulator = await startSimulator({ port: 0, host: '127.0.0.1', recordsPerSecond: 20_000, recordReceipts: true });
    cleanup(() => simulator.stop());
    const server = startTsProcess(
      'src/server.ts',
      { PORT: '0', HOST: '127.0.0.1', MYPREFERENCES_BASE_URL: simulator.baseUrl, AUTH_MODE: 'passthrough', ...QUICK_POLLS },
      cleanup,
    );
    const { url } = await server.waitForLog((line) => typeof line['url'] === 'string');
    const files = workspace();
    const records = 3000;
    const file = files.ndjson(records);
    const token = DEMO_ACCOUNT.credentials.find((credential) => credential.canImport)!.value;
    const args = ['upload', file, '--client', 'demo', '--gateway', new URL(url as string).origin, '--token', token, '--json', '--chunk-size', '16k'];

    const first = startNodeProcess([...CLI, ...args], files.env, cleanup);
    await first.waitForLog((event) => event['type'] === 'upload' && event['bytesStaged'] > 0);
    server.child.kill('SIGSTOP');
    cleanup(() => server.child.kill('SIGCONT'));
    first.child.kill('SIGINT');
    expect((await first.exited).code).toBe(4);
    server.child.kill('SIGCONT');

    const second = await run(args, files.env);
    expect(second.code).toBe(0);
    const events = jsonLines(second.stdout);
    expect(events[0]).toMatchObject({ type: 'job', action: 'resumed' });
    const summary = events.at(-1)!;
    expect(summary).toMatchObject({ outcome: 'COMPLETED', job: { recordsStaged: records } });
    expect(simulator.recordReceipts('demo', Number(summary['job'].import.accessToken))).toEqual({ received: records, distinct: records, duplicates: [] });
    expect(`${first.stdout()}${first.stderr()}${second.stdout}${second.stderr}`).not.toContain(token.replace('Bearer ', ''));
  }, 60_000);

  it('--resume JOB_ID continues a named job; a job cancelled meanwhile ends the run with exit 1', async () => {
    const gateway = await startGateway();
    const files = workspace();
    const file = files.ndjson(2000);
    const first = startNodeProcess(
      [...CLI, 'upload', file, '--client', 'demo', '--gateway', gateway.origin, '--json', '--chunk-size', '16k'],
      files.env,
      cleanup,
    );
    const { job } = await first.waitForLog((event) => event['type'] === 'job');
    gateway.process.child.kill('SIGSTOP');
    cleanup(() => gateway.process.child.kill('SIGCONT'));
    first.child.kill('SIGINT');
    expect((await first.exited).code).toBe(4);
    gateway.process.child.kill('SIGCONT');

    const cancelled = await postGraphQL(gateway.graphql, CancelImportJobDocument, { id: job.id }, gateway.authorization);
    expect(cancelled.data?.cancelImportJob).toMatchObject({ state: 'CANCELED' });
    const second = await run(['upload', file, '--resume', job.id, '--gateway', gateway.origin], files.env);
    expect(second.code).toBe(1);
    expect(second.stderr.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^CANCELED: job ${job.id} \\(`));
    expect(files.states()).toEqual([]);
  }, 60_000);

  it('an upload longer than the gateway takes is refused at its first request (413, exit 3), before a record is staged', async () => {
    const server = startTsProcess('src/server.ts', { PORT: '0', HOST: '127.0.0.1', UPLOAD_MAX_BYTES: '2048' }, cleanup);
    const notice = await server.waitForLog((line) => typeof line['demoAuthorization'] === 'string');
    const { url } = await server.waitForLog((line) => typeof line['url'] === 'string');
    const files = workspace();
    const { code, stdout, stderr } = await run(
      ['upload', files.ndjson(100), '--client', 'demo', '--gateway', new URL(url as string).origin, '--json'],
      files.env,
    );
    expect(code).toBe(3);
    expect(stderr.trimEnd().split('\n')[0]).toMatch(
      /^bulk-import: the gateway refused the upload \(HTTP 413 Payload Too Large: BAD_USER_INPUT UPLOAD_TOO_LARGE: /,
    );
    const summary = jsonLines(stdout).at(-1)!;
    expect(summary).toMatchObject({ type: 'summary', outcome: 'ERROR', exitCode: 3 });
    const { data } = await postGraphQL(url as string, ImportJobDocument, { id: summary['job'].id }, notice['demoAuthorization'] as string);
    expect(data?.importJob).toMatchObject({ bytesStaged: 0, recordsStaged: 0, stageCalls: 0 });
  }, 30_000);

  it('usage errors exit 2 with one line, before any request', async () => {
    const files = workspace();
    const file = files.ndjson(1);
    for (const [args, message] of [
      [['upload', file], /^bulk-import: --client ID is required \(or --resume JOB_ID\)/],
      [
        ['upload', join(tmpdir(), 'no-such-file.ndjson'), '--client', 'demo', '--gateway', 'http://127.0.0.1:1'],
        /^bulk-import: cannot read .*no-such-file\.ndjson: ENOENT$/,
      ],
      [['upload', file, '--client', 'demo', '--frobnicate'], /^bulk-import: Unknown option '--frobnicate'/],
    ] as const) {
      const { code, stdout, stderr } = await run([...args], files.env);
      expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
      expect(stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(stderr.trimEnd()).toMatch(message);
    }
    const help = await run(['--help'], files.env);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toContain('Exit codes:');
  });

  it('a gateway that does not answer exits 3 with one line, and --json still ends with a summary', async () => {
    const files = workspace();
    const file = files.ndjson(1);
    const port = await freePort();
    const { code, stdout, stderr } = await run(['upload', file, '--client', 'demo', '--gateway', `http://127.0.0.1:${port}`, '--json'], files.env);
    expect(code).toBe(3);
    expect(stderr).toBe(`bulk-import: the gateway at http://127.0.0.1:${port} could not be reached (ECONNREFUSED)\n`);
    expect(stderr).not.toMatch(STACK_FRAME);
    expect(jsonLines(stdout)).toEqual([{ type: 'summary', outcome: 'ERROR', exitCode: 3, message: expect.stringContaining('could not be reached') }]);
  });

  it('a token the gateway refuses exits 3, naming the refusal and never the token', async () => {
    const gateway = await startGateway();
    const files = workspace();
    const { code, stderr } = await run(['upload', files.ndjson(1), '--client', 'demo', '--gateway', gateway.origin, '--token', 'not-a-jwt-secret'], files.env);
    expect(code).toBe(3);
    expect(stderr).toMatch(/^bulk-import: the gateway refused createImportJob: UNAUTHENTICATED/);
    expect(stderr).not.toContain('not-a-jwt-secret');
    expect(files.states()).toEqual([]);
  }, 30_000);
});
