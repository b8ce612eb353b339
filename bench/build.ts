/**
 * Compiles the contenders before a run, so each runs as production runs it: plain `node` on
 * JavaScript that `tsc` wrote. Under tsx every function of ours would carry a `name` property
 * that esbuild's keep-names adds at run time — about 2 KB of heap per idle subscriber (8 closures
 * each) that `node dist/server.js` does not have.
 *
 * Ours is `npm run build`'s output (`dist/server.js`); the naive gateway, the floor and the
 * ingestion floor are compiled alike into `bench/.build/`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT } from './processes.js';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

/** Where each contender's compiled entry is, relative to the repository root. */
export const COMPILED_ENTRIES = {
  ours: 'dist/server.js',
  naive: 'bench/.build/naive-gateway.js',
  floor: 'bench/.build/floor-gateway.js',
  ingestFloor: 'bench/.build/ingest-floor.js',
} as const;

/**
 * The node flags production runs ours with: those of `npm start` (`node <flags> dist/server.js`;
 * the Dockerfile's CMD has the same, tested), so the bench measures the process users deploy.
 */
export function productionNodeFlags(): string[] {
  const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const [node, ...rest] = (scripts['start'] ?? '').split(/\s+/);
  const entry = rest.indexOf(COMPILED_ENTRIES.ours);
  if (node !== 'node' || entry < 0) throw new Error(`npm start is not "node [flags] ${COMPILED_ENTRIES.ours}": ${scripts['start']}`);
  return rest.slice(0, entry);
}

export function buildContenders(): void {
  for (const project of ['tsconfig.build.json', 'bench/tsconfig.contenders.json']) {
    execFileSync(process.execPath, [tsc, '-p', project], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  }
}
