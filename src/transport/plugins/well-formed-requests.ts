import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Access } from '../../auth/access.js';
import type { AccessLog } from './access-log.js';

/** What the HTTP transport hands yoga with the request (of its `TransportContext`, what this plugin reads). */
interface RequestContext {
  access?: Access;
}

/** The parameters of a GraphQL-over-HTTP request; any other (not null) makes it malformed. */
const PARAMETERS = new Set(['query', 'operationName', 'variables', 'extensions']);

/**
 * Refuses an HTTP request that is not a well-formed GraphQL-over-HTTP request before yoga looks
 * at it: a body that is not JSON, or not one JSON object; `query` missing or not a string;
 * `operationName` not a string; `variables` or `extensions` not objects (nor valid JSON, in a
 * query string or a form); an unknown parameter; a batch; a Content-Type no parser reads.
 *
 * Such a request is the client's mistake, and every such answer is the same: BAD_REQUEST with a
 * message of ours that never quotes what was sent, 400 (415 for the Content-Type) whatever the
 * Accept header — the spec asks 4xx for a request that is not well-formed under
 * `application/json` too, where yoga answers some of them 200 and turns others (bad JSON in a
 * query string) into a 500 logged as unexpected — and one access line (info), never an error.
 */
export function useWellFormedRequests(accessLog: AccessLog): Plugin<Record<string, unknown>, RequestContext> {
  return {
    onRequestParse: ({ request, requestParser, setRequestParser, serverContext }) => {
      const startedAt = performance.now();
      const refuse = (message: string, status = 400): never => {
        const seen = { request, transport: 'http' as const, ...(serverContext.access && { access: serverContext.access }) };
        accessLog.write({ context: seen, startedAt, codes: ['BAD_REQUEST'] });
        throw new GraphQLError(message, { extensions: { code: 'BAD_REQUEST', http: { status } } });
      };

      if (isJsonPost(request)) {
        // Ours rather than yoga's, whose error for bad JSON quotes the body and is answered 200.
        setRequestParser(async (body) => {
          try {
            return JSON.parse(await body.text());
          } catch {
            return refuse('The request body is not valid JSON.');
          }
        });
      } else if (requestParser) {
        // GET and forms parse `variables` and `extensions` with JSON.parse; multipart reads its parts.
        const unreadable = isMultipart(request) ? 'The multipart body cannot be read.' : 'The variables or extensions parameter is not valid JSON.';
        setRequestParser(async (body) => {
          try {
            return await requestParser(body);
          } catch {
            return refuse(unreadable);
          }
        });
      } else {
        setRequestParser(() => refuse('The request has a Content-Type the gateway does not read: send application/json.', 415));
      }
      return {
        onRequestParseDone: ({ requestParserResult }) => {
          const problem = malformation(requestParserResult);
          if (problem) refuse(problem);
        },
      };
    },
  };
}

/** A POST with a JSON body. */
function isJsonPost(request: Request): boolean {
  const type = mediaTypeOf(request);
  return request.method === 'POST' && (type === 'application/json' || type === 'application/graphql+json');
}

function isMultipart(request: Request): boolean {
  return mediaTypeOf(request) === 'multipart/form-data';
}

/** The Content-Type without its parameters (`; charset=utf-8`), in lower case: media types are case-insensitive. */
function mediaTypeOf(request: Request): string | undefined {
  return request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
}

/** What makes `params` other than one GraphQL-over-HTTP request, in the caller's terms; undefined when well-formed. */
function malformation(params: unknown): string | undefined {
  if (Array.isArray(params)) return 'Batches are not supported: send one operation per request.';
  if (typeof params !== 'object' || params === null) return 'The request body must be a JSON object.';
  const fields = params as Record<string, unknown>;
  if (Object.keys(fields).some((name) => !PARAMETERS.has(name) && fields[name] != null)) {
    return 'The request has a parameter other than query, operationName, variables and extensions.';
  }
  const { query, operationName, variables, extensions } = fields;
  if (query == null) return 'The request has no query.';
  if (typeof query !== 'string') return 'The query must be a string.';
  if (operationName != null && typeof operationName !== 'string') return 'The operationName must be a string.';
  if (!isObjectOrAbsent(variables)) return 'The variables must be a JSON object.';
  if (!isObjectOrAbsent(extensions)) return 'The extensions must be a JSON object.';
  return undefined;
}

function isObjectOrAbsent(value: unknown): boolean {
  return value == null || (typeof value === 'object' && !Array.isArray(value));
}
