import type { IncomingHttpHeaders } from 'node:http';
import { missingCredentials } from '../errors/gateway-error.js';
import { Credential } from './credential.js';

/**
 * Where each transport carries the caller's credential (`docs/graphql-api.md`, "Credentials"):
 * HTTP and SSE in the request's `Authorization` header; WebSocket in `connectionParams`
 * (`authorization` or `Authorization`), falling back to the upgrade request's header.
 */

/** Resolves the caller's credential when a resolver needs it; throws a coded error otherwise. */
export type CredentialSource = () => Credential;

export function credentialFromRequest(headers: Headers): CredentialSource {
  return lazily(() => Credential.from(headers.get('authorization')));
}

export function credentialFromWebSocket(
  connectionParams: Readonly<Record<string, unknown>> | undefined,
  upgradeHeaders: IncomingHttpHeaders,
): CredentialSource {
  return lazily(
    () =>
      Credential.from(connectionParams?.['authorization']) ??
      Credential.from(connectionParams?.['Authorization']) ??
      Credential.from(upgradeHeaders.authorization),
  );
}

/**
 * Parsing is deferred to the first resolver that asks, so an operation that needs no credential
 * (introspection, `__typename`) never fails for the lack of one.
 */
function lazily(read: () => Credential | null): CredentialSource {
  let credential: Credential | undefined;
  return () => {
    credential ??= read() ?? undefined;
    if (credential === undefined) throw missingCredentials();
    return credential;
  };
}
