import {
  type Attributes,
  type Context,
  context,
  isSpanContextValid,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanStatusCode,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { GraphQLError } from 'graphql';
import { ExpiringLruCache } from '../lib/expiring-lru-cache.js';

/**
 * The gateway's spans, through `@opentelemetry/api` only. Until `startTracing` registers the SDK
 * (and always when no endpoint is configured) this tracer is the API's no-op: a span costs one
 * small object, records nothing and propagates nothing.
 */
export const tracer = trace.getTracer('bulk-import-gateway');

/**
 * Span attribute names: the semantic conventions' that are not stable yet (the package exports
 * no constants for them), and ours (`bulk_import.*`, `mypreferences.*`).
 */
export const ATTR = {
  graphqlOperationName: 'graphql.operation.name',
  graphqlOperationType: 'graphql.operation.type',
  urlTemplate: 'url.template',
  /** The coded errors of an operation or call: the `extensions.code`s callers see. */
  errorCodes: 'bulk_import.error.codes',
  /** The caller cancelled the work (a subscriber left): not a failure. */
  cancelled: 'bulk_import.cancelled',
  /** The MyPreferences route (`status`, `execute`, …, `token`) and the clientId a call is for. */
  route: 'mypreferences.route',
  clientId: 'mypreferences.client_id',
  /** A store call: its engine (`postgresql`, `sqlite`) and the registry operation (`list`, `observed`, …). */
  dbSystem: 'db.system.name',
  dbOperation: 'db.operation.name',
} as const;

/** Where W3C trace-context fields are: fetch `Headers`, Node's header object, a `connection_init` payload. */
export type TraceCarrier = { get(name: string): string | null } | Readonly<Record<string, unknown>>;

/**
 * The first carrier that holds a `traceparent`: a WebSocket operation's own `extensions`, else its
 * `connection_init` payload (what a browser can send), else its upgrade's headers, in that order.
 */
export function firstTraceCarrier(...carriers: Array<Readonly<Record<string, unknown>> | null | undefined>): Readonly<Record<string, unknown>> | undefined {
  return carriers.find((carrier) => typeof carrier?.['traceparent'] === 'string') ?? undefined;
}

/**
 * The caller's trace context from its `traceparent` (and `tracestate`), or the root context when
 * there is none or it is malformed — a span started in it is a new trace.
 */
export function callerContext(carrier: TraceCarrier | undefined): Context {
  if (!carrier) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, carrier, {
    keys: () => [],
    get: (fields, key) => {
      const value = typeof fields.get === 'function' ? (fields as { get(name: string): string | null }).get(key) : (fields as Record<string, unknown>)[key];
      if (typeof value === 'string') return value;
      return Array.isArray(value) && typeof value[0] === 'string' ? value[0] : undefined;
    },
  });
}

/** Adds `traceparent` (and `tracestate`) for `span` to outgoing request headers. */
export function injectTraceContext(span: Span, headers: Record<string, string>): void {
  propagation.inject(trace.setSpan(context.active(), span), headers);
}

/**
 * The code yoga answers a document with that fails to parse or validate, when the error carries
 * none of its own (yoga adds it after our hooks have seen the error).
 */
export const PHASE_ERROR_CODES = { parse: 'GRAPHQL_PARSE_FAILED', validate: 'GRAPHQL_VALIDATION_FAILED' } as const;

/** The code a caller would see for `error`: a GatewayError's, any coded GraphQLError's, else `uncoded`. */
export function errorCodeOf(error: unknown, uncoded = 'INTERNAL_SERVER_ERROR'): string {
  const code = error instanceof GraphQLError ? error.extensions['code'] : undefined;
  return typeof code === 'string' ? code : uncoded;
}

/** Marks `span` failed with the coded errors it ended with (codes only: messages may quote input). */
export function failSpan(span: Span, codes: readonly string[]): void {
  if (codes.length === 0) return;
  span.setAttribute(ATTR.errorCodes, [...codes]);
  span.setAttribute('error.type', codes[0]!);
  span.setStatus({ code: SpanStatusCode.ERROR, message: codes.join(',') });
}

/**
 * The span contexts of recent operations by key (an import): later work on the same key — the
 * polls an executeImport causes — links back to them. Bounded (an LRU with expiry), and filled
 * only with sampled spans, so with tracing off it stays empty.
 */
export class RecentSpans {
  readonly #spans: ExpiringLruCache<string, SpanContext>;

  constructor(maxEntries = 1_000, ttlMs = 10 * 60_000) {
    this.#spans = new ExpiringLruCache(maxEntries, ttlMs, () => Date.now());
  }

  /** Remembers the active span under `key`, if it is recorded. */
  rememberActive(key: string): void {
    const spanContext = trace.getActiveSpan()?.spanContext();
    if (!spanContext || !isSpanContextValid(spanContext) || !(spanContext.traceFlags & TraceFlags.SAMPLED)) return;
    this.#spans.set(key, spanContext);
  }

  /** Links to the span remembered under `key`, if any. */
  linksTo(key: string, attributes?: Attributes): Link[] {
    const spanContext = this.#spans.get(key);
    return spanContext ? [{ context: spanContext, ...(attributes && { attributes }) }] : [];
  }
}
