/**
 * Prints the README's Configuration table from `src/config/settings.ts`; `--write` puts it into
 * README.md, between `<!-- config-table:start -->` and `<!-- config-table:end -->`
 * (`npm run docs:config`, part of `npm run generate`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderConfigTable, withConfigTable } from './config-table.js';

if (process.argv.includes('--write')) {
  const readme = new URL('../README.md', import.meta.url);
  const before = readFileSync(readme, 'utf8');
  const after = withConfigTable(before);
  if (after !== before) writeFileSync(readme, after);
  process.stdout.write(after === before ? 'README.md: configuration table up to date\n' : 'README.md: configuration table rewritten\n');
} else {
  process.stdout.write(`${renderConfigTable().trim()}\n`);
}
