import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGatewayRuntime, type GatewayConfigSupergraph } from '@graphql-hive/gateway-runtime';
import { parse } from 'graphql';
import { SUBGRAPHS } from './supergraph.js';

/**
 * The Hive Gateway configuration for a supergraph with our subgraph (`docs/supergraph.md` shows
 * it): the caller's Authorization goes to our subgraph only — as a header over HTTP, as
 * `connectionParams.authorization` on the graphql-ws connection that carries subscriptions.
 */
function hiveGatewayConfig(supergraphSdl: string): GatewayConfigSupergraph {
  return {
    supergraph: parse(supergraphSdl),
    // Queries, mutations and `_entities` over HTTP: forward the caller's credential, to our subgraph only.
    propagateHeaders: {
      fromClientToSubgraphs: ({ request, subgraphName }) =>
        subgraphName === SUBGRAPHS.bulkImports ? { authorization: request.headers.get('authorization') } : undefined,
    },
    transportEntries: {
      [SUBGRAPHS.bulkImports]: {
        options: {
          // Subscriptions over graphql-ws on the subgraph's own /graphql; the credential rides in
          // connection_init, taken from the client's request to the router.
          subscriptions: {
            kind: 'ws',
            location: '/graphql',
            options: { connectionParams: { authorization: '{context.headers.authorization}' } },
          },
        },
      },
    },
    logging: false,
  };
}

export interface RunningRouter {
  /** `http://127.0.0.1:PORT/graphql` */
  url: string;
}

/** Serves a Hive Gateway runtime on a free loopback port; `register` receives its disposal. */
export async function startHiveRouter(supergraphSdl: string, register: (dispose: () => unknown) => void): Promise<RunningRouter> {
  const runtime = createGatewayRuntime(hiveGatewayConfig(supergraphSdl));
  const server = createServer(runtime);
  register(async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    // Disposes the subgraph executors too: the graphql-ws connections to our subgraph close.
    await runtime[Symbol.asyncDispose]();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/graphql` };
}
