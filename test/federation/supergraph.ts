import { readFileSync } from 'node:fs';
import { type CompositionResult, composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { CAMPAIGNS_SDL } from './campaigns-subgraph.js';

/** Our federation SDL, exactly as committed (what `npm run schema:print` writes and a registry takes). */
export const BULK_IMPORTS_SDL = readFileSync(new URL('../../subgraph.graphql', import.meta.url), 'utf8');

/** The subgraph names, as a registry would know them (`rover subgraph publish --name …`). */
export const SUBGRAPHS = { bulkImports: 'bulk-imports', campaigns: 'campaigns' } as const;

/** Composes our subgraph with the campaigns subgraph, routing to the given URLs. */
export function composeSupergraph(urls: { bulkImports: string; campaigns: string }): CompositionResult {
  return composeServices([
    { name: SUBGRAPHS.bulkImports, typeDefs: parse(BULK_IMPORTS_SDL), url: urls.bulkImports },
    { name: SUBGRAPHS.campaigns, typeDefs: parse(CAMPAIGNS_SDL), url: urls.campaigns },
  ]);
}

/** The supergraph SDL, or an error listing every composition error. */
export function supergraphSdl(urls: { bulkImports: string; campaigns: string }): string {
  const result = composeSupergraph(urls);
  if (result.errors) throw new Error(`composition failed:\n${result.errors.map((error) => error.message).join('\n')}`);
  return result.supergraphSdl;
}
