import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { LimitsConfig } from '../../config/config.js';
import { useIntrospectionPolicy } from './introspection-policy.js';

/** The header CSRF prevention requires on GET requests and "simple" POSTs (GraphiQL sends it). */
export const CSRF_HEADER = 'x-graphql-csrf';

/**
 * Limits on what one operation's document may ask, the same on HTTP, SSE and WebSocket (they run
 * in the envelop all transports share; CSRF prevention is HTTP's alone). Documents over a limit
 * are rejected before execution, so they cost neither the gateway nor the upstream anything.
 * The cost limit, which needs the variables, is `operation-limits.ts`.
 */
export function abuseLimitPlugins(limits: LimitsConfig): Plugin[] {
  // Limits are not echoed in messages: a caller learns that it is over, not where the line is.
  const armor = { exposeLimits: false };
  const plugins: Plugin[] = [
    // Past the token limit the document does not parse: GRAPHQL_PARSE_FAILED, with the spec's statuses.
    maxTokensPlugin({ ...armor, n: limits.maxTokens, errorMessage: 'Operation rejected: it has too many tokens.' }) as Plugin,
    maxDepthPlugin({
      ...armor,
      n: limits.maxDepth,
      flattenFragments: true,
      ignoreIntrospection: false,
      onReject: [refuse('it is nested too deeply')],
    }) as Plugin,
    maxAliasesPlugin({ ...armor, n: limits.maxAliases, onReject: [refuse('it has too many aliases')] }) as Plugin,
    maxDirectivesPlugin({ ...armor, n: limits.maxDirectives, onReject: [refuse('it has too many directives')] }) as Plugin,
    // A browser cannot send this header cross-site without a CORS preflight: GET requests and
    // "simple" POSTs must carry it (JSON POSTs already cannot be sent cross-site unnoticed).
    useCSRFPrevention({ requestHeaders: [CSRF_HEADER] }),
  ];
  if (!limits.introspection) plugins.push(useIntrospectionPolicy() as Plugin);
  return plugins;
}

/**
 * The refusal of a document over the depth, alias or directive limit, thrown in place of
 * graphql-armor's own (a bare GraphQLError, "Syntax Error: …", which yoga answers 200 whatever the
 * Accept header): BAD_REQUEST with HTTP 400 under either media type, as the README's error table
 * says. The WebSocket adapter drops the HTTP status from its message (`requestErrorOf`).
 */
function refuse(why: string): (context: unknown, rejected: GraphQLError) => never {
  return () => {
    throw new GraphQLError(`Operation rejected: ${why}.`, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });
  };
}
