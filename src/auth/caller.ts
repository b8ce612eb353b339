/** The scopes of the public API: which operations a caller may run. */
export const SCOPES = { read: 'bulk-import:read', write: 'bulk-import:write' } as const;
/** `read`: importSummary, failedRecords, importStatus, `_entities`. `write`: initiate, stage, execute. */
export type Permission = keyof typeof SCOPES;

/** A caller whose company JWT was verified (jwt mode): who it is and what it was granted. */
export interface VerifiedCaller {
  /** The token's `sub`. */
  subject: string;
  /** The MyPreferences clientIds it may act on; `'*'` grants all of them. */
  clients: '*' | ReadonlySet<string>;
  scopes: ReadonlySet<string>;
  /** When the gateway stops accepting the token: its `exp` plus the clock tolerance, in ms. */
  expiresAtMs: number;
}

export function grantsClient(caller: VerifiedCaller, clientId: string): boolean {
  return caller.clients === '*' || caller.clients.has(clientId);
}

/**
 * What a caller's results may depend on besides the document and variables: its grants, not
 * its identity. Callers with the same grants may share one execution of a subscription.
 */
export function grantsKey(caller: VerifiedCaller): string {
  const clients = caller.clients === '*' ? '*' : [...caller.clients].sort();
  return JSON.stringify(['grants', clients, [...caller.scopes].sort()]);
}
