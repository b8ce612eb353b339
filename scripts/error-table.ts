/**
 * The README's error table, printed from the catalog in `src/errors/catalog.ts`
 * (`npm run docs:errors` writes it; `test/unit/error-catalog.test.ts` fails when the README's
 * copy differs).
 */
import { ERROR_CATALOG } from '../src/errors/catalog.js';

/** The README section the table is written to (`scripts/marked-section.ts`). */
export const ERROR_TABLE_SECTION = 'error-table';

export function renderErrorTable(): string {
  const rows = Object.entries(ERROR_CATALOG).map(([code, entry]) => {
    const reasons = Object.entries(entry.reasons).map(([reason, meaning]) => `\`${reason}\`: ${meaning}`);
    const http = 'http' in entry ? entry.http : 'in the result (200 over HTTP)';
    return `| \`${code}\` | ${entry.when} | ${reasons.join('<br>') || '—'} | ${http} |`;
  });
  const header = [
    '<!-- Generated from src/errors/catalog.ts by `npm run docs:errors`: edit the catalog there, then run it. -->',
    '',
    '| code | when | `extensions.reason` | HTTP |',
    '|---|---|---|---|',
  ];
  return `\n${[...header, ...rows].join('\n')}\n\n`;
}
