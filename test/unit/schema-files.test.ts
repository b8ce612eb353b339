import { readFileSync } from 'node:fs';
import { printSubgraphSchema } from '@apollo/subgraph';
import { printSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../../src/schema/index.js';

/**
 * The committed schema files are the gateway's contract with its clients and the supergraph.
 * Any change the code makes to them must be deliberate: regenerate with `npm run generate` and
 * commit the diff (CI does the same and fails on drift).
 */
const committed = (name: string) => readFileSync(new URL(`../../${name}`, import.meta.url), 'utf8');

describe('committed schema files', () => {
  it('schema.graphql is the executable schema the code builds', () => {
    expect(committed('schema.graphql')).toBe(`${printSchema(schema)}\n`);
  });

  it('subgraph.graphql is the federation SDL the code builds, with a v2 @link and the BulkImport key', () => {
    const sdl = committed('subgraph.graphql');
    expect(sdl).toBe(`${printSubgraphSchema(schema)}\n`);
    expect(sdl).toMatch(/@link\(url: "https:\/\/specs\.apollo\.dev\/federation\/v2\.\d+"/);
    expect(sdl).toMatch(/type BulkImport\s+@key\(fields: "clientId accessToken"\)/);
  });

  it('keeps every name of the public API brief', () => {
    const sdl = committed('schema.graphql');
    for (const name of [
      'importSummary(',
      'initiateImport(',
      'stageImport(',
      'executeImport(',
      'importStatus(',
      'failedRecords(',
      'enum ImportStatus',
      'enum ImportAction',
      'enum MatchCriteria',
      'enum ImportPhase',
      'input InitiateImportInput',
      'type FailedRecordPage',
      'type ImportSettings',
      'scalar DateTime',
      'scalar JSONObject',
    ]) {
      expect(sdl).toContain(name);
    }
  });
});
