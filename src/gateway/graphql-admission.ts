import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Access, type Authenticate, RESTRICTED_MAX_BODY_BYTES } from '../auth/access.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { InflightBytes } from '../lib/inflight-bytes.js';
import { sendEarlyAnswer, type UnreadBodyDrain } from './early-answer.js';

export interface AdmissionOptions {
  authenticate: Authenticate;
  /** Largest body one request may declare (`MAX_REQUEST_BYTES`). */
  maxRequestBytes: number;
  /**
   * The bytes of all requests being read and run at once (`MAX_INFLIGHT_REQUEST_BYTES`), shared
   * with the WebSocket transport's messages.
   */
  inflight: InflightBytes;
  /** How much of a refused body is read and discarded so that the answer arrives. @default {@link defaultDrain} */
  refusedBodyDrain?: Partial<UnreadBodyDrain>;
}

/**
 * What a refused body may cost while its answer travels (see `sendEarlyAnswer`): no memory, only
 * reading and discarding, within these bounds.
 *
 * - Bytes: the request limit plus 16 MiB. The limit, so that any body the gateway would have
 *   accepted (a 401 to a caller who forgot the credential) is read to its end and its sender sees
 *   the answer even if it writes its whole body before reading. The 16 MiB, for a body over the
 *   limit: a client that reads while it sends stops at the answer with far less than that in
 *   flight (its socket buffer and ours, which Linux autotunes to a few MiB: about 4 MiB measured
 *   on loopback), and one that writes everything first still gets its 413 up to 16 MiB over.
 * - Time: 10 s, several round trips of the slowest mobile link, so a client that reads while it
 *   sends has long stopped; a slow sender holds the socket at most that long after its answer, a
 *   sixth of what a client sending slow headers already can (Node's 60 s `headersTimeout`).
 */
function defaultDrain(maxRequestBytes: number): UnreadBodyDrain {
  return { maxBytes: maxRequestBytes + 16 * 1024 * 1024, maxMs: 10_000 };
}

/** Decides, from a request's headers alone, whether `/graphql` reads its body at all. */
export type Admit = (request: IncomingMessage, response: ServerResponse) => Promise<Access | undefined>;

/**
 * What `/graphql` checks before yoga reads a byte of the body, so that a flood of large bodies
 * costs nothing before anyone is authenticated:
 *
 * 1. a POST must declare its length (411), at most `maxRequestBytes` (413);
 * 2. the caller is authenticated from its `Authorization` (in jwt mode the token is verified
 *    here, once, and the result handed to the operation); a caller that is not may send
 *    {@link RESTRICTED_MAX_BODY_BYTES} at most (401), and so may one whose token grants nothing
 *    of this API (403);
 * 3. the bodies being read and run at once, with the WebSocket messages, may not exceed
 *    `inflight`'s cap (503 with Retry-After): memory stays bounded however many clients upload
 *    together.
 *
 * A refusal is answered with `sendEarlyAnswer`, so that it reaches a client still sending its body.
 * Resolves with the caller's Access when the request may go on, undefined when it was answered.
 */
export function createGraphQLAdmission(options: AdmissionOptions): Admit {
  const drain = { ...defaultDrain(options.maxRequestBytes), ...options.refusedBodyDrain };

  return async (request, response) => {
    /** Answers one coded error before the body is read (see `sendEarlyAnswer`). */
    const refuse = (status: number, error: GatewayError, headers: Record<string, string> = {}) => {
      const body = JSON.stringify({ errors: [{ message: error.message, extensions: error.extensions }] });
      sendEarlyAnswer(request, response, { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body }, drain);
      return undefined;
    };
    const declared = declaredLength(request);
    if (declared === 'missing')
      return refuse(411, new GatewayError('BAD_USER_INPUT', 'POST requests must declare their Content-Length.', { reason: 'LENGTH_REQUIRED' }));
    if (declared > options.maxRequestBytes) {
      return refuse(
        413,
        new GatewayError('BAD_USER_INPUT', `The request body is larger than the ${options.maxRequestBytes} bytes the gateway accepts.`, {
          reason: 'REQUEST_TOO_LARGE',
        }),
      );
    }
    const access = await options.authenticate(headerOf(request, 'authorization'));
    const { restriction } = access;
    if (restriction && declared > RESTRICTED_MAX_BODY_BYTES) return refuse(restriction.code === 'UNAUTHENTICATED' ? 401 : 403, restriction);
    const release = options.inflight.tryTake(declared);
    if (!release) {
      return refuse(503, new GatewayError('OVERLOADED', 'The gateway is receiving too much at once; try again in a moment.', { retryAfterSeconds: 1 }), {
        'retry-after': '1',
      });
    }
    response.once('close', release);
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
