/** Identifies one import: the account and the handle Initiate returned. */
export interface ImportRef {
  clientId: string;
  /** A positive integer, kept as its decimal string. */
  accessToken: string;
}

// JSON arrays keep keys unambiguous whatever characters a clientId holds.

/** The key of one import, whoever watches it. */
export function importKey(ref: ImportRef): string {
  return JSON.stringify([ref.clientId, ref.accessToken]);
}

/** The key of one import as seen through one credential: what one poller fetches. */
export function pollerKey(ref: ImportRef, credentialId: string): string {
  return JSON.stringify([ref.clientId, ref.accessToken, credentialId]);
}
