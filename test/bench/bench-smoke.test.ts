import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useCleanup } from '../helpers/cleanup.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TIMEOUT_MS = 180_000;

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
    'runs every contender to completion: each row complete, ours (one process, and two replicas with Redis) polls once per import per interval, ratios printed; ingestion: the floor and an import job stage every record once',
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

      // 3 would mean a structural check failed, 1 that the bench itself broke.
      const code = await exited;
      expect(code, `stderr:\n${stderr}\nstdout:\n${stdout}`).toBe(0);

      const tableRows = (text: string) =>
        text
          .split('\n')
          .filter((line) => line.startsWith('| ') && line.endsWith(' |'))
          .map(cells);
      // Two tables: the fan-out's, then the ingestion scenario's (its header starts with "| Ingestion |").
      const ingestStart = stdout.indexOf('| Ingestion |');
      expect(ingestStart, stdout).toBeGreaterThan(0);
      const rows = tableRows(stdout.slice(0, ingestStart));
      const header = rows[0]!;
      const column = (name: string) => header.indexOf(name);
      expect(column('Gateway')).toBe(1);
      const gatewayRows = (name: string) => rows.filter((row) => row[1] === name);
      const contenderRows = [...gatewayRows('ours'), ...gatewayRows('ours-2-replicas'), ...gatewayRows('naive'), ...gatewayRows('floor')];
      expect(gatewayRows('ours').length).toBe(2);
      expect(gatewayRows('ours-2-replicas').length).toBe(1);
      expect(gatewayRows('naive').length).toBe(1);
      expect(gatewayRows('floor').length).toBe(1);
      for (const row of contenderRows) {
        expect(row.join(' ')).not.toMatch(/ERROR|skipped|TIMED OUT/);
        // "subscribed / subscribers": every one of them.
        const [subscribed, subscribers] = row[column('Subscribed')]!.split(' / ');
        expect(subscribed).toBe(subscribers);
      }
      // The ingestion table: the floor and ours, every record staged, and ours ÷ floor.
      const ingestRows = tableRows(stdout.slice(ingestStart, stdout.indexOf('Structural checks:')));
      const ingestHeader = ingestRows[0]!;
      const ingestColumn = (name: string) => ingestHeader.indexOf(name);
      expect(ingestRows.slice(2).map((row) => row[ingestColumn('Contender')])).toEqual(['floor', 'ours', 'ours ÷ floor']);
      for (const row of ingestRows.slice(2, 4)) {
        expect(row.join(' ')).not.toMatch(/ERROR|skipped|TIMED OUT/);
        const [staged, records] = row[ingestColumn('Records staged')]!.split(' / ');
        expect(staged).toBe(records);
        expect(Number(row[ingestColumn('Stage calls')])).toBeGreaterThan(1);
        expect(Number(row[ingestColumn('Peak RSS growth MB')])).not.toBeNaN();
      }
      expect(ingestRows[4]![ingestColumn('Records / s')]).toMatch(/^[\d.,]+×$/);

      // Structural checks are printed one per line; none may fail: each run has one, each run of ours (either shape) a second,
      // each ingestion contender one.
      const structural = stdout.slice(stdout.indexOf('Structural checks:'), stdout.indexOf('Targets:')).split('\n').slice(1).filter(Boolean);
      expect(structural.length).toBe(contenderRows.length + gatewayRows('ours').length + gatewayRows('ours-2-replicas').length + 2);
      expect(structural.filter((line) => !line.startsWith('PASS'))).toEqual([]);
      expect(stdout).toMatch(/^(PASS|FAIL) {2}ingestion: records\/s ≥ 0\.9 × the floor's/m);

      const naiveRatio = gatewayRows('ours vs naive');
      expect(naiveRatio.length).toBe(1);
      expect(Number(naiveRatio[0]![column('Status req / interval')]!.replace(/[,×]/g, ''))).toBeGreaterThan(1);
      const floorRatio = gatewayRows('ours ÷ floor');
      expect(floorRatio.length).toBe(1);
      expect(floorRatio[0]![column('p99 ms')]).toMatch(/^[\d.,]+×$/);
      const replicasRatio = gatewayRows('2 replicas ÷ 1');
      expect(replicasRatio.length).toBe(1);
      expect(replicasRatio[0]![column('Msgs pushed / s')]).toMatch(/^[\d.,]+×$/);
      expect(stdout).toMatch(/^Targets:$/m);
    },
    TIMEOUT_MS + 10_000,
  );
});
