import type { ExecutionArgs } from 'graphql';
import type { Access } from '../auth/access.js';
import type { ResolverContext } from '../resolvers/context.js';
import type { TraceCarrier } from '../telemetry/spans.js';
import type { PayloadSink } from './pushed-subscriber.js';

/** Which transport carries an operation (SSE is `http`). */
export type TransportName = 'http' | 'websocket';

/**
 * What a transport hands yoga with each operation: the caller's Access, decided before the
 * operation (per HTTP request before its body is read, per WebSocket connection at
 * `connection_init`), and which transport it is.
 */
export interface TransportContext {
  access: Access;
  transport: TransportName;
  /** The WebSocket's request id and trace context (HTTP requests carry theirs in their headers). */
  requestId?: string;
  traceCarrier?: TraceCarrier;
  /** The WebSocket upgrade's `Host` (an HTTP request has its own). */
  host?: string;
  /** Where a WebSocket operation's subscription results are written (its frames on the connection). */
  pushTo?: PayloadSink;
}

/**
 * The context of one operation as the transport's plugins see it: the resolvers' own, plus
 * what only the transport uses.
 */
export interface OperationContext extends ResolverContext {
  transport: TransportName;
  /**
   * Where the caller's W3C trace context (`traceparent`) is: the HTTP request's headers, or for
   * a WebSocket operation its `extensions`, the `connection_init` payload or the upgrade's headers.
   * Read only when tracing is on. @default none
   */
  traceCarrier?: TraceCarrier;
  /** Where a subscription's results are written as they come, rather than read from its stream (WebSocket). @default none */
  pushTo?: PayloadSink;
}

/** An operation's execution arguments, with its context typed (as the plugins' hooks receive them). */
export type OperationArgs = Omit<ExecutionArgs, 'contextValue'> & { contextValue: OperationContext };
