import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The layers of `src/`, top to bottom. A module may import modules of lower tiers only (and the
 * siblings listed in SIBLING_EDGES); `ANYWHERE` modules are leaves every module may use. A
 * module is a folder under `src/`, or a file directly in it. `docs/architecture.md` draws this.
 */
const TIERS: readonly (readonly string[])[] = [
  ['server'],
  ['gateway'],
  ['transport', 'metrics'],
  ['schema'],
  ['resolvers'],
  ['cluster'],
  // jobs and webhooks (issues 27, 28) beside the engine, the store (issue 26) below them.
  ['status', 'jobs', 'webhooks', 'upstream', 'auth'],
  ['store'],
  ['domain'],
  ['telemetry'],
  ['mypreferences-contract', 'logger'],
  ['config'],
];
/** Edges inside a tier: the cluster implements the engine's Coordination port. */
const SIBLING_EDGES = new Set(['cluster -> status']);
const ANYWHERE = new Set(['lib', 'errors', 'credentials']);
/**
 * Edges the tiers allow that are narrower still: the transport sees of the resolvers only the
 * type of their context (its own operation context extends it), never a resolver or a service.
 */
const NARROW_EDGES: Readonly<Record<string, { onlyFile: string; typeOnly: true }>> = {
  'transport -> resolvers': { onlyFile: 'resolvers/context.ts', typeOnly: true },
};
/** A separate program: it shares the upstream contract and the leaves, nothing of the gateway. */
const SIMULATOR = { name: 'simulator', mayImport: new Set(['mypreferences-contract', 'lib', 'errors']), importedBy: new Set(['server']) };
/**
 * The command line (`bulk-import`), a separate program too: a client of the gateway's public API
 * (its typed documents are generated into it), it may use the dependency-free leaves only —
 * not even `credentials`, which every gateway module may — and nothing imports it.
 */
const CLI = { name: 'cli', mayImport: new Set(['lib', 'errors']) };

const SRC = join(import.meta.dirname, '../../src');

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** `src/`-relative paths of the files one file imports, type-only imports and re-exports included. */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return importedFiles
    .map((imported) => imported.fileName)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => relative(SRC, normalize(join(dirname(file), specifier))).replace(/\.js$/, '.ts'));
}

const moduleOf = (path: string) => path.split('/')[0]!.replace(/\.ts$/, '');

/** The import declarations of one file, with what each imports and whether it imports types only. */
function importDeclarationsOf(file: string): Array<{ target: string; typeOnly: boolean }> {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  return source.statements.filter(ts.isImportDeclaration).flatMap((declaration) => {
    const specifier = (declaration.moduleSpecifier as ts.StringLiteral).text;
    if (!specifier.startsWith('.')) return [];
    const clause = declaration.importClause;
    const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : undefined;
    const typeOnly =
      clause !== undefined && (clause.isTypeOnly || (clause.name === undefined && named !== undefined && named.every((element) => element.isTypeOnly)));
    return [{ target: relative(SRC, normalize(join(dirname(file), specifier))).replace(/\.js$/, '.ts'), typeOnly }];
  });
}

const graph = new Map(sourceFiles(SRC).map((file) => [relative(SRC, file), importsOf(file)]));

function edgeAllowed(from: string, to: string): boolean {
  if (from === to) return true;
  if (from === CLI.name) return CLI.mayImport.has(to);
  if (to === CLI.name) return false;
  if (ANYWHERE.has(to)) return true;
  if (ANYWHERE.has(from)) return ANYWHERE.has(to);
  if (from === SIMULATOR.name) return SIMULATOR.mayImport.has(to);
  if (to === SIMULATOR.name) return SIMULATOR.importedBy.has(from);
  const tierOf = (name: string) => TIERS.findIndex((tier) => tier.includes(name));
  const [fromTier, toTier] = [tierOf(from), tierOf(to)];
  if (fromTier < 0 || toTier < 0) return false;
  return toTier > fromTier || SIBLING_EDGES.has(`${from} -> ${to}`);
}

/** Every import cycle, as the files along it (depth-first search, each cycle reported once). */
function cycles(): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'visiting');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'visiting') found.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

describe('architecture of src/', () => {
  it('places every module in a layer', () => {
    const placed = new Set([...TIERS.flat(), ...ANYWHERE, SIMULATOR.name, CLI.name]);
    const unplaced = [...new Set([...graph.keys()].map(moduleOf))].filter((name) => !placed.has(name));
    expect(unplaced).toEqual([]);
  });

  it('imports only downwards', () => {
    const forbidden = [...graph].flatMap(([file, imports]) =>
      imports.filter((target) => !edgeAllowed(moduleOf(file), moduleOf(target))).map((target) => `${file} -> ${target}`),
    );
    expect(forbidden).toEqual([]);
  });

  it('keeps the narrow edges narrow: the transport imports only the type of the resolver context', () => {
    const forbidden = sourceFiles(SRC).flatMap((file) => {
      const from = relative(SRC, file);
      return importDeclarationsOf(file).flatMap(({ target, typeOnly }) => {
        const rule = NARROW_EDGES[`${moduleOf(from)} -> ${moduleOf(target)}`];
        if (!rule || (target === rule.onlyFile && (typeOnly || !rule.typeOnly))) return [];
        return [`${from} -> ${target}${typeOnly ? '' : ' (not type-only)'}`];
      });
    });
    expect(forbidden).toEqual([]);
  });

  it('has no import cycle, type-only imports included', () => {
    expect(cycles().map((cycle) => cycle.join(' -> '))).toEqual([]);
  });

  it('resolves every relative import to a file of src/', () => {
    const dangling = [...graph].flatMap(([file, imports]) => imports.filter((target) => !graph.has(target)).map((target) => `${file} -> ${target}`));
    expect(dangling).toEqual([]);
  });
});
