import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { CONFIG_TABLE_SECTION, renderConfigTable } from '../../scripts/config-table.js';
import { markedSection } from '../../scripts/marked-section.js';
import { InvalidConfiguration, loadConfig } from '../../src/config/config.js';
import { SETTINGS, type Setting, type SettingName, setting } from '../../src/config/settings.js';

/**
 * The descriptor table (`src/config/settings.ts`), the parsing (`loadConfig`) and the docs
 * (README's Configuration table) must not drift apart.
 */

const ROOT = join(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const entries = Object.entries(SETTINGS) as [SettingName, Setting][];
const names = entries.map(([name]) => name);

/** Some variables are read only when others make them matter. */
const CONTEXT: Partial<Record<SettingName, Record<string, string>>> = { SIMULATOR: { NODE_ENV: 'production' } };

/** Values each kind refuses; `string` settings accept anything. The marker checks secrets are not echoed. */
const MARKER = 'hunter2-4b1d';
function invalidValues(described: Setting): string[] {
  switch (described.kind) {
    case 'integer':
      return [MARKER, '1.5', '-1', String(described.max + 1), ...(described.min > 0 ? [String(described.min - 1)] : [])];
    case 'ratio':
      return [MARKER, '1.5', '-0.1', '1e-3', 'NaN'];
    case 'boolean':
    case 'oneOf':
      return [MARKER];
    case 'list':
      return [',', ...(described.allowed ? [`${described.allowed[0]},${MARKER}`] : [])];
    case 'secret':
      return [MARKER.slice(0, described.minLength - 1)];
    case 'url':
    case 'baseUrl':
      return [`not a url ${MARKER}`, `ftp://${MARKER}@example.com/`];
    case 'redisUrl':
      return [`not a url ${MARKER}`, `http://:${MARKER}@127.0.0.1:6379`];
    case 'postgresUrl':
      return [`not a url ${MARKER}`, `http://:${MARKER}@127.0.0.1:5432/gateway`];
    case 'string':
      return [];
  }
}

/** Calls `loadConfig` with `env`, recording every variable it looks at. */
function variablesRead(env: Record<string, string>): Set<string> {
  const seen = new Set<string>();
  const watched = new Proxy(env, {
    get(target, name, receiver) {
      if (typeof name === 'string') seen.add(name);
      return Reflect.get(target, name, receiver);
    },
  });
  loadConfig(watched);
  return seen;
}

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('the configuration table', () => {
  it("is the README's Configuration table: run npm run docs:config after changing src/config/settings.ts", () => {
    expect(markedSection(read('README.md'), CONFIG_TABLE_SECTION)).toBe(renderConfigTable());
  });

  it('is the only table of settings in the docs', () => {
    const documents = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((file) => `docs/${file}`)].filter((path) => path.endsWith('.md'));
    const handKept = documents.flatMap((path) => {
      const text = read(path);
      const marked = markedSection(text, CONFIG_TABLE_SECTION);
      return (
        (marked === undefined ? text : text.replace(marked, ''))
          .split('\n')
          // A row whose first cell is one variable, or a list of them: `| \`PORT\` |`, `| \`A\`, \`B\` |`.
          .filter((line) => names.some((name) => line.startsWith(`| \`${name}\` |`) || line.startsWith(`| \`${name}\`, \``)))
          .map((line) => `${path}: ${line.slice(0, 60)}`)
      );
    });
    expect(handKept).toEqual([]);
  });

  it('is consistent: defaults within bounds and among the allowed values', () => {
    for (const [name, described] of entries) {
      if (described.kind === 'integer' && described.default !== undefined) {
        expect([name, described.min <= described.default && described.default <= described.max]).toEqual([name, true]);
      }
      if (described.kind === 'oneOf' && described.default !== undefined) expect(described.allowed, name).toContain(described.default);
      if (described.kind === 'list' && described.allowed) for (const item of described.default) expect(described.allowed, name).toContain(item);
    }
  });

  it('lists exactly the variables loadConfig reads', () => {
    // Zero config reads every variable but SIMULATOR, which only matters in production.
    const seen = new Set([...variablesRead({}), ...variablesRead({ NODE_ENV: 'production', SIMULATOR: 'true' })]);
    expect([...seen].sort()).toEqual([...names].sort());
  });

  it('names every variable that src/ reads or blames', () => {
    // The simulator and the command line are programs of their own, with variables of their own.
    const gatewaySources = sourceFiles(join(ROOT, 'src')).filter((file) => !/^src\/(simulator|cli)\//.test(relative(ROOT, file)));
    const named = new Set<string>();
    for (const file of gatewaySources) {
      const text = readFileSync(file, 'utf8');
      for (const pattern of [
        /\bread\('([A-Z][A-Z0-9_]*)'\)/g,
        /\bVARIABLE\.([A-Z][A-Z0-9_]*)/g,
        /\benv\['([A-Z][A-Z0-9_]*)'\]/g,
        /new ConfigError\('([A-Z][A-Z0-9_]*)'/g,
        /missing\('([A-Z][A-Z0-9_]*)'\)/g,
      ]) {
        for (const match of text.matchAll(pattern)) named.add(match[1]!);
      }
    }
    expect(named.size).toBeGreaterThan(40);
    expect([...named].filter((name) => !(name in SETTINGS))).toEqual([]);
  });

  it('types reads: a name that is not a setting does not compile', () => {
    // @ts-expect-error: not a variable of the gateway
    expect(() => setting('POLL_INTERVAL')).not.toThrow();
    expect(setting('POLL_INTERVAL_MS').kind).toBe('integer');
  });

  const invalid = entries.flatMap(([name, described]) => invalidValues(described).map((value) => [name, value] as const));

  it.each(invalid)('loadConfig refuses %s=%j, naming the variable', (name, value) => {
    let thrown: unknown;
    try {
      loadConfig({ ...CONTEXT[name], [name]: value });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidConfiguration);
    const error = thrown as InvalidConfiguration;
    // First: anything else listed is what follows from it (an invalid upstream URL still means a real upstream).
    expect(error.variables[0]).toBe(name);
    expect(error.message.startsWith(`${name} `)).toBe(true);
    if (setting(name).secret) expect(error.message).not.toContain(MARKER.slice(0, 6));
  });

  it('covers every kind that can be invalid, and every secret', () => {
    const refused = new Set(invalid.map(([name]) => name));
    for (const [name, described] of entries) if (described.kind !== 'string') expect(refused, name).toContain(name);
    expect(entries.filter(([, described]) => described.secret).map(([name]) => name)).toEqual([
      'CREDENTIAL_FINGERPRINT_SECRET',
      'OTEL_EXPORTER_OTLP_HEADERS',
      'DATABASE_URL',
      'WEBHOOK_SECRET_KEY',
      'REDIS_URL',
    ]);
  });
});

/**
 * The `Config` type (`src/config/config.ts`) restates nothing of the table. A field that is one
 * variable is an entry of a field map, `field: VARIABLE.NAME`, from which the compiler derives its
 * type and `loadConfig` its reading; a field derived from variables is declared by hand, its doc
 * linking them (`{@link SETTINGS.NAME}`). What the compiler cannot see, the docs, is checked here.
 */
describe('the Config type', () => {
  const file = ts.createSourceFile('config.ts', read('src/config/config.ts'), ts.ScriptTarget.Latest, true);
  const linked = (node: ts.Node) =>
    ts.getJSDocCommentsAndTags(node).flatMap((doc) => [...doc.getText().matchAll(/\{@link SETTINGS\.(\w+)\}/g)].map((match) => match[1]!));
  const hasDoc = (node: ts.Node) => ts.getJSDocCommentsAndTags(node).length > 0;

  /** `const STATUS = { pollIntervalMs: VARIABLE.POLL_INTERVAL_MS, … } as const satisfies FieldMap`: each entry. */
  const mapEntries = file.statements.filter(ts.isVariableStatement).flatMap((statement) =>
    statement.declarationList.declarations.flatMap((declaration) => {
      const initializer = declaration.initializer;
      if (!initializer || !ts.isSatisfiesExpression(initializer) || initializer.type.getText() !== 'FieldMap') return [];
      const literal = ts.isAsExpression(initializer.expression) ? initializer.expression.expression : initializer.expression;
      if (!ts.isObjectLiteralExpression(literal)) throw new Error(`${declaration.name.getText()}: a field map is an object literal`);
      return literal.properties.map((property) => {
        const value = ts.isPropertyAssignment(property) ? property.initializer : undefined;
        const variable = value && ts.isPropertyAccessExpression(value) && value.expression.getText() === 'VARIABLE' ? value.name.text : undefined;
        return {
          node: property,
          field: property.name?.getText(),
          where: `${declaration.name.getText()}.${property.name?.getText()}`,
          variable,
          documented: hasDoc(property),
        };
      });
    }),
  );

  /** The type declarations (Config, its sections, AuthConfig…) and the fields declared in them by hand. */
  const declarations = file.statements.filter((statement) => ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement));
  const handDeclared = declarations.filter(ts.isInterfaceDeclaration).flatMap((declaration) =>
    declaration.members.filter(ts.isPropertySignature).map((member) => ({
      where: `${declaration.name.text}.${member.name.getText()}`,
      // A section (`limits: LimitsConfig`) is documented by its own fields.
      section: member.type !== undefined && /^[A-Z]\w*Config$/.test(member.type.getText()),
      links: linked(member),
    })),
  );
  const links = declarations.flatMap((declaration) => [
    ...linked(declaration),
    ...(ts.isInterfaceDeclaration(declaration) ? declaration.members.flatMap(linked) : []),
  ]);

  it('reads each field of a field map from one variable named VARIABLE.NAME, and each variable into one field at most', () => {
    expect(mapEntries.length).toBeGreaterThan(40);
    expect(mapEntries.filter((entry) => entry.variable === undefined).map((entry) => entry.where)).toEqual([]);
    const variables = mapEntries.map((entry) => entry.variable);
    expect(variables.filter((variable, index) => variables.indexOf(variable) !== index)).toEqual([]);
  });

  it('reads a field of a field map only through its map: no object literal in config.ts sets one by hand', () => {
    const mapped = new Set(mapEntries.map((entry) => entry.field));
    const entries = new Set<ts.Node>(mapEntries.map((entry) => entry.node));
    const setByHand: string[] = [];
    const visit = (node: ts.Node) => {
      const assigned = ts.isPropertyAssignment(node) || ts.isShorthandPropertyAssignment(node);
      if (assigned && mapped.has(node.name.getText()) && !entries.has(node)) {
        setByHand.push(`line ${file.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${node.getText()}`);
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
    expect(setByHand).toEqual([]);
  });

  it('documents a field of a field map by its variable only: its entry in the table is its doc', () => {
    expect(mapEntries.filter((entry) => entry.documented).map((entry) => entry.where)).toEqual([]);
    // A default written in the type would be a second one, which nothing compares with the table's.
    expect(file.text).not.toMatch(/@default\b/);
  });

  it('links, in the doc of each field derived from variables, the variables it derives from, and only settings', () => {
    expect(handDeclared.filter((field) => !field.section && field.links.length === 0).map((field) => field.where)).toEqual([]);
    expect(links.filter((name) => !(name in SETTINGS))).toEqual([]);
  });

  it('reads every setting into a field: the variable of a field map, or one that a derived field links', () => {
    const reached = new Set([...mapEntries.map((entry) => entry.variable), ...links]);
    expect(names.filter((name) => !reached.has(name))).toEqual([]);
  });
});
