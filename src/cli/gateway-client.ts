/**
 * The gateway as the CLI sees it: GraphQL over HTTP for the mutations and queries, graphql-ws
 * (Node's global WebSocket) for the job's subscription, and the bearer token they share. Every
 * failure becomes an {@link ExitError} with one line that says what happened; the token is never
 * part of one.
 */
import { createClient } from 'graphql-ws';
import { EXIT, ExitError } from './exit-codes.js';
import { type ImportJobFieldsFragment, type TypedDocumentString, WatchImportJobDocument } from './generated.js';

export type Job = ImportJobFieldsFragment;

/** A GraphQL error the gateway answered with: `code` and `reason` from its extensions. */
export class GraphQLRequestError extends ExitError {
  constructor(
    operation: string,
    readonly code: string | undefined,
    readonly reason: string | undefined,
    message: string,
  ) {
    super(EXIT.GATEWAY, `the gateway refused ${operation}: ${[code, reason].filter(Boolean).join(' ') || 'error'}: ${message}`);
  }
}

/** Why a request did not reach the gateway (`ECONNREFUSED`, `ENOTFOUND`, …), from fetch's cause. */
export function networkCause(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

const unreachable = (origin: string, error: unknown) => new ExitError(EXIT.GATEWAY, `the gateway at ${origin} could not be reached (${networkCause(error)})`);

/** The `Authorization` header to send: a given token, or development tokens minted and renewed. */
export interface Authorization {
  header(): Promise<string>;
}

/**
 * A given token as a header: `Bearer <token>`, unless it names its scheme already
 * (`Bearer …`, `Basic …`).
 */
export function givenAuthorization(token: string): Authorization {
  const header = /^[A-Za-z][\w-]* \S/.test(token.trim()) ? token.trim() : `Bearer ${token.trim()}`;
  return { header: async () => header };
}

const TOKEN_TTL_SECONDS = 86_400;
const RENEW_BEFORE_MS = 5 * 60_000;

/**
 * A gateway running with nothing configured mints development tokens (`POST /dev/token`, what
 * `npm run token` calls): one for `clients` with both scopes, renewed five minutes before it
 * expires. A gateway without that route has a real identity provider: then a token must be given.
 */
export function developmentAuthorization(graphqlUrl: URL, clients: string[]): Authorization {
  let current: { header: string; renewAtMs: number } | undefined;
  return {
    async header() {
      if (current && Date.now() < current.renewAtMs) return current.header;
      const url = new URL('/dev/token', graphqlUrl);
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ clients, ttlSeconds: TOKEN_TTL_SECONDS }),
        });
      } catch (error) {
        throw unreachable(url.origin, error);
      }
      const answer = (await response.json().catch(() => ({}))) as { token?: string; expiresAt?: string; error?: string };
      if (!response.ok || typeof answer.token !== 'string') {
        const why =
          response.status === 404
            ? 'it mints no development tokens (it has a real identity provider)'
            : `its development issuer answered HTTP ${response.status}${answer.error ? `: ${answer.error}` : ''}`;
        throw new ExitError(EXIT.GATEWAY, `no token for the gateway at ${url.origin}: ${why}; pass --token or set BULK_IMPORT_TOKEN`);
      }
      const expiresAtMs = Date.parse(answer.expiresAt ?? '') || Date.now() + TOKEN_TTL_SECONDS * 1000;
      current = { header: `Bearer ${answer.token}`, renewAtMs: expiresAtMs - RENEW_BEFORE_MS };
      return current.header;
    },
  };
}

interface GraphQLErrorShape {
  message?: string;
  extensions?: { code?: string; reason?: string };
}

export class GatewayClient {
  readonly origin: string;

  constructor(
    readonly graphqlUrl: URL,
    private readonly authorization: Authorization,
  ) {
    this.origin = graphqlUrl.origin;
  }

  /** The `Authorization` header (for the upload's requests too). */
  header(): Promise<string> {
    return this.authorization.header();
  }

  /** One operation over HTTP; a GraphQL error becomes a {@link GraphQLRequestError}. */
  async request<TResult, TVariables>(operation: string, document: TypedDocumentString<TResult, TVariables>, variables: TVariables): Promise<TResult> {
    const authorization = await this.authorization.header();
    let response: Response;
    try {
      response = await fetch(this.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', authorization },
        body: JSON.stringify({ query: document.toString(), variables }),
      });
    } catch (error) {
      throw unreachable(this.origin, error);
    }
    const body = (await response.json().catch(() => undefined)) as { data?: TResult | null; errors?: GraphQLErrorShape[] } | undefined;
    if (body === undefined || typeof body !== 'object' || body === null) {
      throw new ExitError(
        EXIT.GATEWAY,
        `the gateway at ${this.origin} answered ${operation} with HTTP ${response.status}, not GraphQL: is ${this.graphqlUrl.href} a gateway?`,
      );
    }
    const [error] = body.errors ?? [];
    if (error) throw new GraphQLRequestError(operation, error.extensions?.code, error.extensions?.reason, error.message ?? 'no message');
    if (!body.data) throw new ExitError(EXIT.GATEWAY, `the gateway answered ${operation} with no data (HTTP ${response.status})`);
    return body.data;
  }

  /**
   * Follows a job through the `importJob` subscription over graphql-ws: `onJob` gets its current
   * state first, then every change; `finished` resolves with the last state when the gateway
   * completes the subscription (the job ended). A dropped connection is retried (graphql-ws: five
   * times, backing off), and the subscription resumes with the current state.
   */
  watch(jobId: string, onJob: (job: Job) => void): { finished: Promise<Job>; close: () => void } {
    const client = createClient({
      url: this.graphqlUrl.href.replace(/^http/, 'ws'),
      connectionParams: async () => ({ authorization: await this.authorization.header() }),
      retryAttempts: 5,
    });
    let last: Job | undefined;
    const finished = new Promise<Job>((resolve, reject) => {
      client.subscribe<{ importJob: Job }>(
        { query: WatchImportJobDocument.toString(), variables: { id: jobId } },
        {
          next: ({ data, errors }) => {
            const [error] = (errors ?? []) as GraphQLErrorShape[];
            if (error) {
              reject(new GraphQLRequestError('the importJob subscription', error.extensions?.code, error.extensions?.reason, error.message ?? 'no message'));
              return;
            }
            if (data?.importJob) {
              last = data.importJob;
              onJob(last);
            }
          },
          error: (error: unknown) => reject(this.subscriptionFailure(error)),
          complete: () => (last ? resolve(last) : reject(new ExitError(EXIT.GATEWAY, 'the gateway ended the importJob subscription without a state'))),
        },
      );
    });
    // A rejection nobody awaits yet (an interrupt, an upload failure first) is not an unhandled one.
    finished.catch(() => {});
    // graphql-ws's dispose waits for a connection being made, which a gateway that does not answer
    // never makes (or fails): closing must not wait for it, nor fail with it.
    const close = () => void Promise.resolve(client.dispose()).catch(() => {});
    return { finished, close };
  }

  private subscriptionFailure(error: unknown): ExitError {
    if (Array.isArray(error)) {
      const [first] = error as GraphQLErrorShape[];
      return new GraphQLRequestError('the importJob subscription', first?.extensions?.code, first?.extensions?.reason, first?.message ?? 'no message');
    }
    const close = error as { code?: unknown; reason?: unknown };
    if (typeof close?.code === 'number') {
      return new ExitError(
        EXIT.GATEWAY,
        `the gateway at ${this.origin} closed the job's subscription (WebSocket close ${close.code}${close.reason ? `: ${String(close.reason)}` : ''})`,
      );
    }
    return unreachable(this.origin, error);
  }
}
