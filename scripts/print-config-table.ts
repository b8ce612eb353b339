/**
 * Prints the README's Configuration table from `src/config/settings.ts`; `--write` puts it into
 * README.md, between `<!-- config-table:start -->` and `<!-- config-table:end -->`
 * (`npm run docs:config`, part of `npm run generate`).
 */
import { CONFIG_TABLE_SECTION, renderConfigTable } from './config-table.js';
import { writeMarkedSection } from './marked-section.js';

if (process.argv.includes('--write')) writeMarkedSection(new URL('../README.md', import.meta.url), CONFIG_TABLE_SECTION, renderConfigTable());
else process.stdout.write(`${renderConfigTable().trim()}\n`);
