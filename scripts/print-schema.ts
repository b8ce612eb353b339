/**
 * Writes the schema files that are committed as the gateway's contract:
 * - `schema.graphql`: the full executable schema (review, codegen);
 * - `subgraph.graphql`: the federation SDL with its `@link` and `@key`s (what a router or a
 *   schema registry takes).
 * `--check` writes nothing and exits 1 when a committed file differs from what the code builds.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { printSubgraphSchema } from '@apollo/subgraph';
import { printSchema } from 'graphql';
import { schema } from '../src/schema/index.js';

const files: Record<string, string> = {
  'schema.graphql': `${printSchema(schema)}\n`,
  'subgraph.graphql': `${printSubgraphSchema(schema)}\n`,
};

const check = process.argv.includes('--check');
let drifted = false;
for (const [name, content] of Object.entries(files)) {
  const path = new URL(`../${name}`, import.meta.url);
  if (!check) {
    writeFileSync(path, content);
    continue;
  }
  let committed = '';
  try {
    committed = readFileSync(path, 'utf8');
  } catch {
    // a missing file is drift too
  }
  if (committed !== content) {
    drifted = true;
    process.stderr.write(`${name} is out of date: run npm run schema:print and commit it.\n`);
  }
}
process.exit(drifted ? 1 : 0);
