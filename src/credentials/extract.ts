/**
 * Where each transport carries the caller's `Authorization` (`docs/graphql-api.md`,
 * "Credentials"): HTTP and SSE in the request's header; WebSocket in `connectionParams`
 * (`authorization` or `Authorization`), falling back to the upgrade request's header (where
 * routers that propagate headers put it).
 */
export function authorizationFromWebSocket(
  connectionParams: Readonly<Record<string, unknown>> | undefined,
  upgradeAuthorization: string | undefined,
): string | undefined {
  for (const value of [connectionParams?.['authorization'], connectionParams?.['Authorization'], upgradeAuthorization]) {
    if (typeof value === 'string' && value.trim() !== '') return value;
  }
  return undefined;
}
