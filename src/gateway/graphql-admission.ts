import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Access, Authenticate } from '../auth/access.js';
import { GatewayError } from '../errors/gateway-error.js';

export interface AdmissionOptions {
  authenticate: Authenticate;
  /** Largest body one request may declare (`MAX_REQUEST_BYTES`). */
  maxRequestBytes: number;
  /** Most body bytes of all requests being read and run at once (`MAX_INFLIGHT_REQUEST_BYTES`). */
  maxInflightBytes: number;
}

/**
 * A caller that is not authenticated may still send a small document (introspection,
 * `_service { sdl }`, anything whose fields answer UNAUTHENTICATED themselves), never a large one.
 */
const UNAUTHENTICATED_MAX_BODY_BYTES = 64 * 1024;

/** Decides, from a request's headers alone, whether `/graphql` reads its body at all. */
export type Admit = (request: IncomingMessage, response: ServerResponse) => Promise<Access | undefined>;

/**
 * What `/graphql` checks before yoga reads a byte of the body, so that a flood of large bodies
 * costs nothing before anyone is authenticated:
 *
 * 1. a POST must declare its length (411), at most `maxRequestBytes` (413);
 * 2. the caller is authenticated from its `Authorization` (in jwt mode the token is verified
 *    here, once, and the result handed to the operation); a caller that is not may send
 *    {@link UNAUTHENTICATED_MAX_BODY_BYTES} at most (401);
 * 3. the bodies being read and run at once may not exceed `maxInflightBytes` (503 with
 *    Retry-After): memory stays bounded however many clients upload together.
 *
 * Resolves with the caller's Access when the request may go on, undefined when it was answered.
 */
export function createGraphQLAdmission(options: AdmissionOptions): Admit {
  let inflightBytes = 0;

  return async (request, response) => {
    const declared = declaredLength(request);
    if (declared === 'missing')
      return refuse(response, 411, new GatewayError('BAD_USER_INPUT', 'POST requests must declare their Content-Length.', { reason: 'LENGTH_REQUIRED' }));
    if (declared > options.maxRequestBytes) {
      return refuse(
        response,
        413,
        new GatewayError('BAD_USER_INPUT', `The request body is larger than the ${options.maxRequestBytes} bytes the gateway accepts.`, {
          reason: 'REQUEST_TOO_LARGE',
        }),
      );
    }
    const access = await options.authenticate(headerOf(request, 'authorization'));
    if (access.refusal && declared > UNAUTHENTICATED_MAX_BODY_BYTES) return refuse(response, 401, access.refusal);
    if (inflightBytes + declared > options.maxInflightBytes) {
      return refuse(
        response,
        503,
        new GatewayError('OVERLOADED', 'The gateway is receiving too much at once; try again in a moment.', { retryAfterSeconds: 1 }),
        { 'retry-after': '1' },
      );
    }
    inflightBytes += declared;
    response.once('close', () => (inflightBytes -= declared));
    return access;
  };
}

/** The declared body length; GET and HEAD carry none. */
function declaredLength(request: IncomingMessage): number | 'missing' {
  if (request.method !== 'POST') return 0;
  const declared = request.headers['content-length'];
  // A chunked body's size could only be known by reading it.
  return declared === undefined ? 'missing' : Number(declared);
}

function headerOf(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Answers with one coded GraphQL error, closing the connection so the unread body is not drained. */
function refuse(response: ServerResponse, status: number, error: GatewayError, headers: Record<string, string> = {}): undefined {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', connection: 'close', ...headers });
  response.end(JSON.stringify({ errors: [{ message: error.message, extensions: error.extensions }] }));
  return undefined;
}
