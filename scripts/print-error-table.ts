/**
 * Prints the README's error table from `src/errors/catalog.ts`; `--write` puts it into README.md,
 * between `<!-- error-table:start -->` and `<!-- error-table:end -->` (`npm run docs:errors`,
 * part of `npm run generate`).
 */
import { ERROR_TABLE_SECTION, renderErrorTable } from './error-table.js';
import { writeMarkedSection } from './marked-section.js';

if (process.argv.includes('--write')) writeMarkedSection(new URL('../README.md', import.meta.url), ERROR_TABLE_SECTION, renderErrorTable());
else process.stdout.write(`${renderErrorTable().trim()}\n`);
