import { registerHooks } from 'node:module';

/**
 * Preloaded into a gateway process (`node --import tsx --import <this> src/server.ts`): writes a
 * JSON line `{"resolved": specifier}` to stdout, among the gateway's log lines, when anything
 * resolves GraphiQL's renderer, so that a test can tell when it is loaded.
 */
registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier.startsWith('@graphql-yoga/render-graphiql')) process.stdout.write(`${JSON.stringify({ resolved: specifier })}\n`);
    return nextResolve(specifier, context);
  },
});
