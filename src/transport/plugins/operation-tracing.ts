import { context, type Span, SpanKind, trace } from '@opentelemetry/api';
import { type ExecutionResult, getOperationAST } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { ATTR, callerContext, errorCodeOf, failSpan, tracer } from '../../telemetry/spans.js';
import type { OperationArgs, OperationContext } from '../operation-context.js';

/**
 * A span per GraphQL operation, named after it (`query ImportSummary`, `mutation ExecuteImport`),
 * a child of the caller's `traceparent` when it sent one; everything the operation does upstream
 * runs inside it, so the MyPreferences calls are its children and carry its trace onward.
 *
 * A subscription's span covers subscribing (authorisation, joining or starting the shared
 * execution), not the subscription's life: its pushes are one execution per state shared by
 * every subscriber, and the polls behind them are traced as their own spans (`status-hub.ts`).
 * Nothing here runs per pushed event. Added to yoga only when tracing is on.
 */
export function useOperationTracing(): Plugin<OperationContext> {
  return {
    onExecute: ({ args, executeFn, setExecuteFn }) => {
      const { span, active } = startOperationSpan(args);
      setExecuteFn((ownArgs) => context.with(active, () => executeFn(ownArgs)));
      return {
        onExecuteDone: ({ result }) => {
          if (!isAsyncIterable(result)) endOperationSpan(span, result);
          else span.end();
        },
      };
    },
    onSubscribe: ({ args, subscribeFn, setSubscribeFn }) => {
      const { span, active } = startOperationSpan(args);
      setSubscribeFn((ownArgs) => context.with(active, () => subscribeFn(ownArgs)));
      return {
        onSubscribeResult: ({ result }) => {
          if (!isAsyncIterable(result)) endOperationSpan(span, result as ExecutionResult);
          else span.end();
        },
        onSubscribeError: ({ error }) => {
          failSpan(span, [errorCodeOf(error)]);
          span.end();
        },
      };
    },
  };
}

function startOperationSpan(args: OperationArgs): { span: Span; active: ReturnType<typeof context.active> } {
  const operation = getOperationAST(args.document, args.operationName);
  const type = operation?.operation ?? 'query';
  const name = operation?.name?.value;
  const parent = callerContext(args.contextValue.traceCarrier);
  const span = tracer.startSpan(
    name ? `${type} ${name}` : type,
    {
      kind: SpanKind.SERVER,
      attributes: {
        [ATTR.graphqlOperationType]: type,
        ...(name && { [ATTR.graphqlOperationName]: name }),
        'bulk_import.transport': args.contextValue.transport,
      },
    },
    parent,
  );
  return { span, active: trace.setSpan(parent, span) };
}

function endOperationSpan(span: Span, result: ExecutionResult): void {
  if (result.errors?.length) failSpan(span, [...new Set(result.errors.map((error) => errorCodeOf(error)))]);
  span.end();
}
