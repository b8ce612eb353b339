import { type Attributes, context, ROOT_CONTEXT, type Span, trace } from '@opentelemetry/api';
import { type ImportRef, importKey } from '../domain/import-ref.js';
import { ATTR, errorCodeOf, failSpan, RecentSpans, tracer } from '../telemetry/spans.js';
import type { FetchStatus } from './poller.js';
import type { StatusEvent } from './status-event.js';

/**
 * What the status engine adds to traces, wrapped around its polls and pushes: one span per poll
 * and one per state pushed, never per subscriber. They belong to no caller's trace (a poller
 * outlives the subscriber that started it), so each is a root, with a link to the executeImport
 * that changed the import, if one did lately; a poll's upstream request is its child. With
 * tracing off every span is the API's no-op.
 */
export class StatusSpans {
  /** The spans of recent executeImports, by import (bounded; empty with tracing off). */
  readonly #recentChanges = new RecentSpans();

  /** An import changed through the gateway within the active span: later polls and pushes link to it. */
  importChanged(ref: ImportRef): void {
    this.#recentChanges.rememberActive(importKey(ref));
  }

  /** `fetchStatus` with each poll inside its own span, the parent of its upstream request. */
  tracePolls(fetchStatus: FetchStatus): FetchStatus {
    return (credential, ref, signal, idle) => {
      const span = this.#startSpan('poll importStatus', ref);
      return context
        .with(trace.setSpan(ROOT_CONTEXT, span), () => fetchStatus(credential, ref, signal, idle))
        .then(
          (state) => {
            span.end();
            return state;
          },
          (error: unknown) => {
            if (signal.aborted) span.setAttribute(ATTR.cancelled, true);
            else failSpan(span, [errorCodeOf(error)]);
            span.end();
            throw error;
          },
        );
    };
  }

  /** `deliver` with each event handed over inside its own span, saying which state or error it was. */
  tracePushes(ref: ImportRef, deliver: (event: StatusEvent) => void): (event: StatusEvent) => void {
    return (event) => {
      const span = this.#startSpan('push importStatus', ref, eventAttributes(event));
      try {
        context.with(trace.setSpan(ROOT_CONTEXT, span), () => deliver(event));
      } finally {
        span.end();
      }
    };
  }

  #startSpan(name: string, ref: ImportRef, attributes: Attributes = {}): Span {
    return tracer.startSpan(name, {
      root: true,
      links: this.#recentChanges.linksTo(importKey(ref)),
      attributes: { [ATTR.clientId]: ref.clientId, ...attributes },
    });
  }
}

/** What a push span says of the event it handed over. */
function eventAttributes(event: StatusEvent): Attributes {
  return event.kind === 'state' ? { 'bulk_import.status': event.state.status } : { [ATTR.errorCodes]: [event.error.code] };
}
