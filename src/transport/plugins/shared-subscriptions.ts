import { createHash } from 'node:crypto';
import { type DocumentNode, type ExecutionResult, print } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { OperationArgs, OperationContext } from '../operation-context.js';
import type { SharedSubscriptions } from '../shared-subscriptions.js';

/**
 * Identical subscriptions share one execution, on every transport: HTTP (SSE) and WebSocket
 * operations both subscribe through the envelop, and this plugin replaces the subscribe step
 * with joining `shared`.
 *
 * The share key is everything a subscription's results depend on: the document, the operation,
 * the variables and the caller's sharing key (its forwarded credential's fingerprint in
 * passthrough mode, its grants in jwt mode), so callers with different credentials or grants
 * never share. The key covers everything authorisation looks at, too: the first subscriber of a
 * key is authorised by the field's own subscribe, and a later one with the same key would get
 * the same answer, so it joins the running execution directly.
 *
 * Only the subscribe step is shared. The hooks before it run per subscriber (the limits, the
 * rate limit, the token's expiry: a refused one never reaches here). Each result is masked once
 * (`SharedSubscriptions`' `mask`) and serialised once, by the execution. A WebSocket operation
 * (its context has `pushTo`) has that text written to its connection as it comes; an SSE one
 * reads the results from its own stream, through the hooks that wrap it (masking, the token
 * expiry) and yoga's processor, which uses the shared text. Latest-wins lives in each
 * subscriber's connection or listener.
 */
export function useSharedSubscriptions(
  shared: SharedSubscriptions,
  /** Told once per subscriber, when it left or its stream ended (the access log writes its line then). @default nothing */
  onSubscriberLeft: (context: OperationContext) => void = () => undefined,
): Plugin<OperationContext> {
  /** yoga caches parsed documents by their text, so each distinct document is printed once. */
  const documentTexts = new WeakMap<DocumentNode, string>();
  const documentText = (document: DocumentNode): string => {
    let text = documentTexts.get(document);
    if (text === undefined) {
      text = print(document);
      documentTexts.set(document, text);
    }
    return text;
  };
  return {
    onSubscribe: ({ args, subscribeFn, setSubscribeFn }) => {
      const key = shareKey(args, documentText(args.document));
      const context = args.contextValue;
      setSubscribeFn((ownArgs) =>
        shared.subscribe(key, () => subscribeFn(ownArgs) as Promise<AsyncIterable<ExecutionResult> | ExecutionResult>, {
          onLeave: () => onSubscriberLeft(context),
          ...(context.pushTo && { pushTo: context.pushTo }),
        }),
      );
    },
  };
}

/** The share key of a subscription, or undefined when its caller may share with nobody (not authenticated). */
function shareKey(args: OperationArgs, documentText: string): string | undefined {
  const { sharingKey } = args.contextValue.access;
  if (sharingKey === undefined) return undefined;
  // Hashed: a running execution keeps its key for its lifetime, and the query text can be long.
  return createHash('sha256')
    .update(JSON.stringify([documentText, args.operationName ?? null, args.variableValues ?? null, sharingKey]))
    .digest('base64url');
}
