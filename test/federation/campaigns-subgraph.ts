import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { createYoga } from 'graphql-yoga';

/**
 * A second, tiny Federation v2 subgraph for the federation tests: "campaigns". It owns `Campaign`
 * and contributes `BulkImport.campaign` to our entity, which it knows only by its key
 * (`clientId accessToken`). Everything else about a BulkImport comes from the bulk-import subgraph,
 * so a query for `campaign { bulkImport { status } }` makes a router call our `_entities`.
 */
export const CAMPAIGNS_SDL = `extend schema
  @link(url: "https://specs.apollo.dev/federation/v2.6", import: ["@key"])

"""A marketing campaign whose audience is loaded by one bulk import."""
type Campaign @key(fields: "id") {
  id: ID!
  name: String!
  """The import that loads the campaign's audience (resolved by the bulk-import subgraph)."""
  bulkImport: BulkImport!
}

# The bulk-import subgraph's entity, referenced by its key (no description: the owner's applies);
# this subgraph adds \`campaign\`.
type BulkImport @key(fields: "clientId accessToken") {
  clientId: ID!
  accessToken: ID!
  """The campaign this import belongs to, if any."""
  campaign: Campaign
}

type Query {
  campaign(id: ID!): Campaign
}
`;

export interface CampaignRecord {
  id: string;
  name: string;
  clientId: string;
  accessToken: string;
}

export interface RunningCampaignsSubgraph {
  /** `http://127.0.0.1:PORT/graphql` */
  url: string;
  /** The subgraph's SDL, as composed ({@link CAMPAIGNS_SDL}). */
  sdl: string;
  /** Closes the server and every open connection. Idempotent. */
  stop(): Promise<void>;
}

interface BulkImportKey {
  clientId: string;
  accessToken: string;
}

/** Starts the campaigns subgraph on a free loopback port, serving `campaigns`. */
export async function startCampaignsSubgraph(campaigns: readonly CampaignRecord[]): Promise<RunningCampaignsSubgraph> {
  const byId = (id: string) => campaigns.find((campaign) => campaign.id === id) ?? null;
  const byImport = (key: BulkImportKey) => campaigns.find((campaign) => campaign.clientId === key.clientId && campaign.accessToken === key.accessToken) ?? null;

  const schema = buildSubgraphSchema({
    typeDefs: parse(CAMPAIGNS_SDL),
    resolvers: {
      Query: {
        campaign: (_root: unknown, args: { id: string }) => byId(args.id),
      },
      Campaign: {
        __resolveReference: (reference: { id: string }) => byId(reference.id),
        // A reference to the other subgraph's entity: its key is all this subgraph knows.
        bulkImport: (campaign: CampaignRecord): BulkImportKey => ({ clientId: campaign.clientId, accessToken: campaign.accessToken }),
      },
      BulkImport: {
        __resolveReference: (reference: BulkImportKey): BulkImportKey => ({ clientId: reference.clientId, accessToken: reference.accessToken }),
        campaign: (bulkImport: BulkImportKey) => byImport(bulkImport),
      },
    },
  });

  const yoga = createYoga({ schema, graphqlEndpoint: '/graphql', logging: false, landingPage: false });
  const server = createServer(yoga);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  let stopped: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    sdl: CAMPAIGNS_SDL,
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
