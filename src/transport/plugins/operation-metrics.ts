import { createCounter, createHistogram, type FillLabelsFnParams, usePrometheus } from '@graphql-yoga/plugin-prometheus';
import { getOperationAST } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Registry } from 'prom-client';
import { errorCodeOf, PHASE_ERROR_CODES } from '../../telemetry/spans.js';
import type { OperationContext } from '../operation-context.js';

/** Distinct values one label may take; later ones are counted as `other`. Operation names are the caller's to choose. */
const MAX_LABEL_VALUES = 100;
const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,99}$/;
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Per-operation metrics with `@graphql-yoga/plugin-prometheus`, on the gateway's own registry
 * (served at `/metrics` with the engine's gauges), under the plugin's standard names:
 *
 * - `graphql_envelop_request_duration` (histogram) and `graphql_envelop_request` (counter) of
 *   queries and mutations, by `operationName` and `operationType`;
 * - `graphql_envelop_error_result` (counter), by operation, `phase` and `code` (the
 *   `extensions.code` the caller saw): parse and validation failures, execution errors, and
 *   subscriptions refused at subscribe time.
 *
 * Subscriptions are not timed here: their life is not an operation's duration, and observing
 * their end would wrap every subscriber's stream (a cost per pushed event). Their numbers are the
 * engine's gauges and counters. The plugin's HTTP histogram is off: it labels by URL, which
 * carries whatever a client put in the query string. Label values are bounded.
 */
export function useOperationMetrics(registry: Registry): Plugin<OperationContext> {
  const operationName = boundedLabel((name) => (name === undefined ? 'Anonymous' : GRAPHQL_NAME.test(name) ? name : 'invalid'));
  const code = boundedLabel((value) => value ?? 'INTERNAL_SERVER_ERROR');
  const operationLabels = (params: FillLabelsFnParams) => ({
    operationName: operationName(params.operationName),
    operationType: params.operationType ?? 'unknown',
  });
  const errors = createCounter<'parse' | 'validate' | 'context' | 'execute', 'operationName' | 'operationType' | 'phase' | 'code'>({
    registry,
    counter: {
      name: 'graphql_envelop_error_result',
      help: 'Errors in GraphQL results, by operation, phase and error code (extensions.code).',
      labelNames: ['operationName', 'operationType', 'phase', 'code'],
    },
    fillLabelsFn: (params) => ({
      ...operationLabels(params),
      phase: params.errorPhase ?? 'execute',
      code: code(errorCodeOf(params.error, phaseCode(params.errorPhase))),
    }),
    phases: ['parse', 'validate', 'context', 'execute'],
  });

  return {
    onPluginInit: ({ addPlugin }) => {
      addPlugin(
        usePrometheus({
          registry,
          endpoint: false,
          metrics: {
            graphql_envelop_request: createCounter({
              registry,
              counter: { name: 'graphql_envelop_request', help: 'GraphQL queries and mutations executed.', labelNames: ['operationName', 'operationType'] },
              fillLabelsFn: operationLabels,
              phases: ['execute'],
            }),
            graphql_envelop_request_duration: createHistogram({
              registry,
              histogram: {
                name: 'graphql_envelop_request_duration',
                help: 'Time to execute a GraphQL query or mutation, upstream calls included.',
                labelNames: ['operationName', 'operationType'],
                buckets: DURATION_BUCKETS,
              },
              fillLabelsFn: operationLabels,
              phases: ['execute'],
            }),
            graphql_envelop_error_result: errors,
            graphql_envelop_request_time_summary: false,
            graphql_envelop_phase_parse: false,
            graphql_envelop_phase_validate: false,
            graphql_envelop_phase_context: false,
            graphql_envelop_phase_execute: false,
            graphql_envelop_phase_subscribe: false,
            graphql_envelop_deprecated_field: false,
            graphql_envelop_schema_change: false,
            graphql_envelop_execute_resolver: false,
            graphql_yoga_http_duration: false,
          },
        }) as Plugin<OperationContext>,
      );
    },
    // A refused subscription is a result, not a stream: counted here, without touching streams.
    onSubscribe: ({ args }) => ({
      onSubscribeResult: ({ result }) => {
        if (isAsyncIterable(result) || !result.errors?.length) return;
        const operation = getOperationAST(args.document, args.operationName);
        for (const error of result.errors) {
          errors.counter.inc({
            operationName: operationName(operation?.name?.value),
            operationType: 'subscription',
            phase: 'subscribe',
            code: code(errorCodeOf(error)),
          });
        }
      },
    }),
  };
}

/** The code an uncoded error of `phase` gets: yoga's for parse and validation failures. */
function phaseCode(phase: FillLabelsFnParams['errorPhase']): string | undefined {
  return phase === 'parse' || phase === 'validate' ? PHASE_ERROR_CODES[phase] : undefined;
}

/** A label's value through `normalise`, or `other` once {@link MAX_LABEL_VALUES} distinct values have been seen. */
function boundedLabel(normalise: (value: string | undefined) => string): (value: string | undefined) => string {
  const seen = new Set<string>();
  return (value) => {
    const label = normalise(value);
    if (seen.has(label)) return label;
    if (seen.size >= MAX_LABEL_VALUES) return 'other';
    seen.add(label);
    return label;
  };
}
