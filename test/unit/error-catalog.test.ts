import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_TABLE_SECTION, renderErrorTable } from '../../scripts/error-table.js';
import { markedSection } from '../../scripts/marked-section.js';
import { ERROR_CATALOG } from '../../src/errors/catalog.js';

/**
 * The catalog is the one list of what callers can see: the README's table is printed from it,
 * and every code and reason the gateway's source (or a test's expectation) names is in it, and
 * nothing in it is named nowhere.
 */

const ROOT = join(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

function typeScriptFiles(directory: string): string[] {
  return readdirSync(join(ROOT, directory), { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return typeScriptFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/**
 * The gateway's code: not the simulator (the upstream's errors, not ours), not the command line (a
 * client: it reads codes, raises none), not the catalog itself.
 */
const gatewaySources = typeScriptFiles('src').filter(
  (path) => !path.startsWith('src/simulator/') && !path.startsWith('src/cli/') && path !== 'src/errors/catalog.ts',
);
/** Tests of the gateway (the simulator's tests assert the upstream's own error bodies). */
const gatewayTests = typeScriptFiles('test').filter((path) => !path.startsWith('test/simulator/'));

/** Every `CODE` written as an error code or a reason in `text`, by the shapes the code base uses. */
function namedIn(text: string): { codes: Set<string>; reasons: Set<string> } {
  const codes = new Set<string>();
  const reasons = new Set<string>();
  const collect = (pattern: RegExp, into: Set<string>) => {
    for (const match of text.matchAll(pattern)) into.add(match[1]!);
  };
  collect(/new GatewayError\(\s*'([A-Z][A-Z_]+)'/g, codes);
  collect(/\bcode: '([A-Z][A-Z_]+)'/g, codes);
  collect(/\['code'\]\)?\.toBe\('([A-Z][A-Z_]+)'\)/g, codes);
  collect(/requestErrorOf\([^,]+, '([A-Z][A-Z_]+)'\)/g, codes);
  collect(/hasCode\([^,]+, '([A-Z][A-Z_]+)'\)/g, codes);
  collect(/\breason: '([A-Z][A-Z_]+)'/g, reasons);
  collect(/\breason \?\? '([A-Z][A-Z_]+)'/g, reasons);
  // `extensions['code'] = a ? 'FORBIDDEN' : 'BAD_REQUEST'`: every literal on the assignment.
  for (const line of text.split('\n').filter((candidate) => candidate.includes("['code'] ="))) {
    for (const match of line.matchAll(/'([A-Z][A-Z_]+)'/g)) codes.add(match[1]!);
  }
  return { codes, reasons };
}

const catalogued = {
  codes: new Set(Object.keys(ERROR_CATALOG)),
  reasons: new Set(Object.values(ERROR_CATALOG).flatMap((entry) => Object.keys(entry.reasons))),
};

/** `code: 'ECONNREFUSED'` in a test is a socket error the test provokes, not one a caller sees. */
const SYSTEM_ERROR_CODE = /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/;

function uncatalogued(files: string[]): string[] {
  return files.flatMap((path) => {
    const { codes, reasons } = namedIn(read(path));
    return [
      ...[...codes].filter((code) => !catalogued.codes.has(code) && !SYSTEM_ERROR_CODE.test(code)).map((code) => `${path}: code ${code}`),
      ...[...reasons].filter((reason) => !catalogued.reasons.has(reason)).map((reason) => `${path}: reason ${reason}`),
    ];
  });
}

describe('the error catalog', () => {
  it("is the README's error table: run npm run docs:errors after changing src/errors/catalog.ts", () => {
    expect(markedSection(read('README.md'), ERROR_TABLE_SECTION)).toBe(renderErrorTable());
  });

  it('holds every code and reason the gateway raises', () => {
    expect(uncatalogued(gatewaySources)).toEqual([]);
  });

  it('holds every code and reason a test of the gateway expects', () => {
    expect(uncatalogued(gatewayTests)).toEqual([]);
  });

  it('lists nothing the gateway never raises: each of its own codes and every reason is written somewhere in src/', () => {
    const source = gatewaySources.map(read).join('\n');
    const stale = Object.entries(ERROR_CATALOG).flatMap(([code, entry]) => [
      ...(entry.raisedBy === 'gateway' && !source.includes(`'${code}'`) ? [`code ${code}`] : []),
      ...Object.keys(entry.reasons)
        .filter((reason) => !source.includes(`'${reason}'`))
        .map((reason) => `${code}: reason ${reason}`),
    ]);
    expect(stale).toEqual([]);
  });

  it('finds what it looks for (the scan is not vacuous)', () => {
    const { codes, reasons } = namedIn(gatewaySources.map(read).join('\n'));
    expect(codes.size).toBeGreaterThanOrEqual(10);
    expect(reasons.size).toBeGreaterThanOrEqual(20);
    expect(relative(ROOT, join(ROOT, gatewaySources[0]!))).toMatch(/^src\//);
  });
});
