import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';

/** A typed document from `operations/generated.ts`, or raw query text for malformed-input tests. */
export type Operation<TData = any> = TypedDocumentNode<TData, any> | string;

export interface GraphQLResponse<TData = Record<string, any>> {
  status: number;
  data?: TData | null;
  errors?: Array<{ message: string; path?: readonly (string | number)[]; extensions?: Record<string, any> }>;
}

const printed = new WeakMap<object, string>();

/** The query text of an operation (documents are printed once). */
export function queryText(operation: Operation): string {
  if (typeof operation === 'string') return operation;
  let text = printed.get(operation);
  if (text === undefined) {
    text = print(operation);
    printed.set(operation, text);
  }
  return text;
}

/** POSTs one GraphQL operation over real HTTP. `authorization` becomes the Authorization header. */
export async function postGraphQL<TData = Record<string, any>>(
  url: string,
  operation: Operation<TData>,
  variables: Record<string, unknown> = {},
  authorization?: string,
): Promise<GraphQLResponse<TData>> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/graphql-response+json' };
  if (authorization !== undefined) headers['authorization'] = authorization;
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query: queryText(operation), variables }) });
  const body = (await response.json()) as Omit<GraphQLResponse<TData>, 'status'>;
  return { status: response.status, ...body };
}

/** The one error of a response, failing loudly when there is not exactly one. */
export function onlyError(response: GraphQLResponse<unknown>) {
  if (response.errors?.length !== 1) throw new Error(`expected one error, got ${JSON.stringify(response.errors)}`);
  return response.errors[0]!;
}
