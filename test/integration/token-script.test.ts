import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/** `npm run token`'s command line: help, a mistyped option and an absent gateway, each a clear answer and never a stack trace. */
describe('scripts/token.ts', () => {
  const token = (...args: string[]) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/token.ts', ...args]).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
    );
  const STACK_FRAME = /^\s+at /m;

  it('prints its usage for --help and -h, and exits 0', async () => {
    for (const flag of ['--help', '-h']) {
      const run = await token(flag);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout).toMatch(/^Usage: npm run -s token -- \[options\]/);
      for (const option of ['--client', '--scope', '--ttl', '--subject', '--gateway']) expect(run.stdout).toContain(option);
    }
  });

  it('names a mistyped option, shows the usage, and exits 2', async () => {
    const run = await token('--clinet', 'demo');
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^Unknown option '--clinet'/);
    expect(run.stderr).toContain('Usage:');
    expect(run.stderr).not.toMatch(STACK_FRAME);
  });

  it('says where it looked, and how to look elsewhere, when no gateway answers', async () => {
    const run = await token('--gateway', 'http://127.0.0.1:9/graphql');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^No token: the gateway at http:\/\/127\.0\.0\.1:9 could not be reached .*--gateway URL or GATEWAY_URL/);
    expect(run.stderr).not.toMatch(STACK_FRAME);
  });
});
