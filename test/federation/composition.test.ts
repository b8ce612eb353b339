import { buildSchema, type ConstDirectiveNode, type GraphQLEnumType, type GraphQLObjectType, getNamedType, isNonNullType, Kind } from 'graphql';
import { describe, expect, it } from 'vitest';
import { startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startGateway } from '../helpers/gateway.js';
import { postGraphQL } from '../helpers/graphql.js';
import { BULK_IMPORTS_SDL, composeSupergraph } from './supergraph.js';

/**
 * Our committed federation SDL composes into a supergraph with another team's subgraph that
 * extends our entity, and the running gateway serves exactly that SDL to routers and registries.
 */

/**
 * Composition hints that say nothing about whether the supergraph works, only about how it reads.
 * - INCONSISTENT_DESCRIPTION: two subgraphs describe one element differently; the supergraph keeps
 *   one of the descriptions. Any partner subgraph that documents its view of `BulkImport` triggers
 *   it, and it changes documentation only, never planning or execution.
 * Every other hint (an entity, field type, argument, enum value or directive that differs between
 * subgraphs; an implicit federation upgrade; an @override to clean up) is about how operations are
 * planned or what clients can send, so any of them fails this test.
 */
const HARMLESS_HINTS = new Set(['INCONSISTENT_DESCRIPTION']);

/** A string argument of a directive in the supergraph SDL (`graph`, `key`, `url`). */
function stringArgument(directive: ConstDirectiveNode, name: string): string | undefined {
  const value = directive.arguments?.find((argument) => argument.name.value === name)?.value;
  return value?.kind === Kind.STRING || value?.kind === Kind.ENUM ? value.value : undefined;
}

const urls = { bulkImports: 'http://bulk-imports.internal/graphql', campaigns: 'http://campaigns.internal/graphql' };

describe('composition with a subgraph that extends BulkImport', () => {
  const cleanup = useCleanup();

  it('composes with no error and no hint that matters', () => {
    const result = composeSupergraph(urls);
    expect(result.errors?.map((error) => error.message)).toBeUndefined();
    const hints = (result.hints ?? []).filter((hint) => !HARMLESS_HINTS.has(hint.definition.code)).map((hint) => `${hint.definition.code}: ${hint.message}`);
    expect(hints).toEqual([]);
  });

  it('puts BulkImport together from both subgraphs, and keeps Subscription.importStatus', () => {
    const { supergraphSdl } = composeSupergraph(urls);
    expect(supergraphSdl).toBeDefined();
    const supergraph = buildSchema(supergraphSdl!);
    const joinGraphs = (supergraph.getType('join__Graph') as GraphQLEnumType).getValues();
    const graphUrl = Object.fromEntries(
      joinGraphs.map((graph) => [graph.name, graph.astNode?.directives?.map((directive) => stringArgument(directive, 'url'))]),
    );
    expect(graphUrl).toEqual({ BULK_IMPORTS: [urls.bulkImports], CAMPAIGNS: [urls.campaigns] });

    /** The subgraphs that resolve a field, from its @join__field directives (none: every subgraph declaring the type). */
    const ownersOf = (type: GraphQLObjectType, field: string) =>
      (type.getFields()[field]?.astNode?.directives ?? [])
        .filter((directive) => directive.name.value === 'join__field')
        .map((directive) => stringArgument(directive, 'graph'));

    const bulkImport = supergraph.getType('BulkImport') as GraphQLObjectType;
    const keys = (bulkImport.astNode?.directives ?? [])
      .filter((directive) => directive.name.value === 'join__type')
      .map((directive) => [stringArgument(directive, 'graph'), stringArgument(directive, 'key')]);
    expect(keys).toEqual([
      ['BULK_IMPORTS', 'clientId accessToken'],
      ['CAMPAIGNS', 'clientId accessToken'],
    ]);
    expect(ownersOf(bulkImport, 'status')).toEqual(['BULK_IMPORTS']);
    expect(ownersOf(bulkImport, 'failedRecords')).toEqual(['BULK_IMPORTS']);
    expect(ownersOf(bulkImport, 'campaign')).toEqual(['CAMPAIGNS']);
    expect(ownersOf(bulkImport, 'clientId')).toEqual([]); // a key field: both subgraphs resolve it

    const campaign = supergraph.getType('Campaign') as GraphQLObjectType;
    expect(getNamedType(campaign.getFields()['bulkImport']!.type).name).toBe('BulkImport');

    const importStatus = supergraph.getSubscriptionType()?.getFields()['importStatus'];
    expect(importStatus?.args.map((argument) => argument.name)).toEqual(['clientId', 'accessToken']);
    expect(isNonNullType(importStatus!.type) && getNamedType(importStatus!.type).name).toBe('BulkImport');
    expect(supergraph.getQueryType()?.getFields()).toHaveProperty('importSummary');
    expect(supergraph.getQueryType()?.getFields()).toHaveProperty('campaign');
    expect(Object.keys(supergraph.getMutationType()?.getFields() ?? {})).toEqual([
      'initiateImport',
      'stageImport',
      'executeImport',
      'watchImport',
      'createImportJob',
      'cancelImportJob',
      'createImportWebhook',
      'deleteImportWebhook',
      'sendTestImportWebhook',
    ]);
  });

  it('_service { sdl } over HTTP is the committed subgraph.graphql', async () => {
    const simulator = await startSimulator();
    cleanup(() => simulator.stop());
    const gateway = await startGateway(simulator.baseUrl, {}, cleanup);
    const before = simulator.requests.count();
    // No credential: a router or registry fetching the SDL has none, and needs none.
    const response = await postGraphQL<{ _service: { sdl: string } }>(gateway.url, '{ _service { sdl } }');
    expect(response.status).toBe(200);
    expect(response.errors).toBeUndefined();
    expect(response.data!._service.sdl.trimEnd()).toBe(BULK_IMPORTS_SDL.trimEnd());
    expect(simulator.requests.count()).toBe(before);
  });
});
