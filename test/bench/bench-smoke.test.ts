import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useCleanup } from '../helpers/cleanup.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TIMEOUT_MS = 90_000;

/** The cells of a markdown table row. */
const cells = (line: string) =>
  line
    .slice(1, -1)
    .split('|')
    .map((cell) => cell.trim());

/** `npm run bench:smoke`: the whole bench machinery, tiny, as its own process. */
describe('bench --smoke', () => {
  const cleanup = useCleanup();

  it(
    'runs both gateways and prints the table with an upstream-requests ratio above 1',
    async () => {
      // SIGINT on timeout: the bench then kills its own children before exiting.
      const bench = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--smoke'], {
        cwd: ROOT,
        env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '' },
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: TIMEOUT_MS,
        killSignal: 'SIGINT',
      });
      let stdout = '';
      let stderr = '';
      bench.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      bench.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => bench.once('exit', (code) => resolve(code)));
      cleanup(async () => {
        if (bench.exitCode === null && bench.signalCode === null) bench.kill('SIGINT');
        await exited;
      });

      const code = await exited;
      expect(code, `stderr:\n${stderr}\nstdout:\n${stdout}`).toBe(0);

      const rows = stdout
        .split('\n')
        .filter((line) => line.startsWith('| ') && line.endsWith(' |'))
        .map(cells);
      const header = rows[0]!;
      const column = (name: string) => header.indexOf(name);
      expect(column('Gateway')).toBe(1);
      const gatewayRows = (name: string) => rows.filter((row) => row[1] === name);
      expect(gatewayRows('ours').length).toBeGreaterThan(0);
      expect(gatewayRows('naive').length).toBeGreaterThan(0);
      for (const row of [...gatewayRows('ours'), ...gatewayRows('naive')]) expect(row.join(' ')).not.toMatch(/ERROR|skipped/);

      const ratioRows = gatewayRows('ratio');
      expect(ratioRows.length).toBeGreaterThan(0);
      const upstreamColumn = column('Status req / interval');
      for (const row of ratioRows) {
        const ratio = Number(row[upstreamColumn]!.replace(/[,×]/g, ''));
        expect(ratio).toBeGreaterThan(1);
      }
      expect(stdout).toMatch(/^Targets:$/m);
    },
    TIMEOUT_MS + 10_000,
  );
});
