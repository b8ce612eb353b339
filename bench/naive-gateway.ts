/**
 * The baseline: the importStatus gateway most teams write first. graphql-yoga on node:http,
 * graphql-ws (`graphql-ws/use/ws`) on the same port, and a subscription that is an
 * `async function*` polling the upstream Status route on its own timer with `fetch`, one loop per
 * subscriber, yielding whenever the JSON changed and returning on Completed/Failed.
 *
 * Written for the bench only; it selects the same fields the bench asks of ours. A network
 * error keeps the loop going (next interval), an HTTP error ends the subscription, so under
 * overload it degrades by polling late rather than by dropping subscribers.
 *
 * Environment: UPSTREAM_BASE_URL (ends with `/Profiles/`), POLL_INTERVAL_MS, PORT (0 = any).
 * Prints `{"msg": "listening", "url": ...}`. `GET /metrics`: prom-client's default metrics
 * (heap, event-loop lag), under the prefix `naive_gateway_`.
 */
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ExecutionArgs, GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createSchema, createYoga } from 'graphql-yoga';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { WebSocketServer } from 'ws';

const baseUrl = process.env['UPSTREAM_BASE_URL'] ?? 'http://127.0.0.1:4010/Profiles/';
const intervalMs = Number(process.env['POLL_INTERVAL_MS'] ?? 1000);
const port = Number(process.env['PORT'] ?? 0);

interface UpstreamState {
  Status: string;
  AccessToken: number;
  TotalRecordsReceived: number;
  ValidationSuccessful: number;
  Processed: number;
  Pending: number;
  Exceptions: number;
  NotHonored: number;
}

interface Context {
  authorization: string | undefined;
}

const typeDefs = /* GraphQL */ `
  enum ImportStatus { INITIATED STAGING QUEUED PROCESSING COMPLETED FAILED }
  type BulkImport {
    accessToken: ID!
    status: ImportStatus!
    isTerminal: Boolean!
    totalRecordsReceived: Int!
    processed: Int!
    pending: Int!
    exceptions: Int!
    progress: Float!
  }
  type Query { ok: Boolean! }
  type Subscription { importStatus(clientId: ID!, accessToken: ID!): BulkImport! }
`;

function toBulkImport(state: UpstreamState) {
  const status = state.Status.toUpperCase();
  const handled = state.Processed + state.Exceptions + state.NotHonored;
  const progress =
    status === 'COMPLETED'
      ? 1
      : status === 'QUEUED' || status === 'PROCESSING'
        ? state.ValidationSuccessful === 0
          ? 0
          : handled / state.ValidationSuccessful
        : 0;
  return {
    accessToken: String(state.AccessToken),
    status,
    isTerminal: status === 'COMPLETED' || status === 'FAILED',
    totalRecordsReceived: state.TotalRecordsReceived,
    processed: state.Processed,
    pending: state.Pending,
    exceptions: state.Exceptions,
    progress,
  };
}

let networkErrors = 0;

/** One subscriber's own polling loop. */
async function* pollStatus(clientId: string, accessToken: string, authorization: string | undefined) {
  const url = `${baseUrl}Async/${encodeURIComponent(clientId)}/Import/${encodeURIComponent(accessToken)}/Status`;
  let last: string | undefined;
  for (;;) {
    let body: string | undefined;
    try {
      const response = await fetch(url, { headers: authorization ? { authorization } : {} });
      body = await response.text();
      if (!response.ok) throw new GraphQLError(`Upstream answered ${response.status}`, { extensions: { code: 'UPSTREAM_ERROR' } });
    } catch (error) {
      if (error instanceof GraphQLError) throw error;
      networkErrors += 1;
      body = undefined;
    }
    if (body !== undefined && body !== last) {
      last = body;
      const state = JSON.parse(body) as UpstreamState;
      yield { importStatus: toBulkImport(state) };
      if (state.Status === 'Completed' || state.Status === 'Failed') return;
    }
    await sleep(intervalMs);
  }
}

const schema = createSchema<Context>({
  typeDefs,
  resolvers: {
    Query: { ok: () => true },
    Subscription: {
      importStatus: {
        subscribe: (_root: unknown, args: { clientId: string; accessToken: string }, context: Context) =>
          pollStatus(args.clientId, args.accessToken, context.authorization),
      },
    },
  },
});

const yoga = createYoga<object, Context>({
  schema,
  graphiql: false,
  logging: false,
  context: ({ request }) => ({ authorization: request.headers.get('authorization') ?? undefined }),
});

const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'naive_gateway_' });

const server = createServer((request, response) => {
  if (request.url === '/metrics') {
    void registry.metrics().then((text) => {
      response.writeHead(200, { 'content-type': registry.contentType });
      response.end(text);
    });
    return;
  }
  void yoga.handle(request, response);
});

const wss = new WebSocketServer({ server, path: yoga.graphqlEndpoint });

interface EnvelopedRoot {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
}

useServer(
  {
    execute: (args) => (args.rootValue as EnvelopedRoot).execute(args) as never,
    subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args) as never,
    onSubscribe: async (ctx, _id, payload) => {
      const params = ctx.connectionParams ?? {};
      const authorization = typeof params['authorization'] === 'string' ? params['authorization'] : undefined;
      const { schema: enveloped, execute, subscribe, parse, validate } = yoga.getEnveloped({});
      const document = parse(payload.query);
      const errors = validate(enveloped, document);
      if (errors.length > 0) return errors;
      const contextValue: Context = { authorization };
      return {
        schema: enveloped,
        document,
        operationName: payload.operationName ?? null,
        variableValues: payload.variables ?? null,
        contextValue,
        rootValue: { execute, subscribe } satisfies EnvelopedRoot,
      };
    },
  },
  wss,
);

server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  process.stdout.write(`${JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${bound}/graphql` })}\n`);
});

const stop = () => {
  process.stderr.write(`naive gateway: ${networkErrors} upstream network errors\n`);
  process.exit(0);
};
process.on('disconnect', stop);
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
