export interface GraphQLResponse<TData = Record<string, any>> {
  status: number;
  data?: TData | null;
  errors?: Array<{ message: string; path?: readonly (string | number)[]; extensions?: Record<string, any> }>;
}

/** POSTs one GraphQL operation over real HTTP. `authorization` becomes the Authorization header. */
export async function postGraphQL<TData = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  authorization?: string,
): Promise<GraphQLResponse<TData>> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/graphql-response+json' };
  if (authorization !== undefined) headers['authorization'] = authorization;
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as Omit<GraphQLResponse<TData>, 'status'>;
  return { status: response.status, ...body };
}

/** The one error of a response, failing loudly when there is not exactly one. */
export function onlyError(response: GraphQLResponse) {
  if (response.errors?.length !== 1) throw new Error(`expected one error, got ${JSON.stringify(response.errors)}`);
  return response.errors[0]!;
}
