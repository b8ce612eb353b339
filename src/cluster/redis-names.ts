import { createHash } from 'node:crypto';

/**
 * Names of everything the cluster keeps in Redis. A poller key (clientId, accessToken, HMAC
 * fingerprint of the credential) appears only as a SHA-256 of itself, an import only as a
 * SHA-256 of (clientId, accessToken): nothing in Redis can be checked against a guessed
 * credential, and nothing names a customer.
 */
const PREFIX = 'bulk-import-gateway';

const digest = (value: string) => createHash('sha256').update(value).digest('base64url');

export interface KeyNames {
  /** The lease: who polls this key; value `replicaId:fence`, with an expiry. */
  lease: string;
  /** Counter handing out fencing tokens; dropped on release when no state is stored. */
  fence: string;
  /** The latest import state (never an error) with its epoch and sequence number, with a TTL, for new subscribers. */
  state: string;
  /**
   * Counter of the key's events: a hash `{epoch, seq}` with a TTL. `epoch` changes whenever the
   * counter is (re)created; dropped on release when no state is stored.
   */
  sequence: string;
  /** Pub/sub channel of the key's events. */
  events: string;
  /** Set (with an expiry of a lease) by replicas with subscribers of the key, not only watches: the holder polls at their pace. */
  subscribed: string;
}

export function keyNames(pollerKey: string): KeyNames {
  const id = digest(pollerKey);
  return {
    lease: `${PREFIX}:lease:${id}`,
    fence: `${PREFIX}:fence:${id}`,
    state: `${PREFIX}:state:${id}`,
    sequence: `${PREFIX}:seq:${id}`,
    events: `${PREFIX}:events:${id}`,
    subscribed: `${PREFIX}:subscribed:${id}`,
  };
}

/** Pub/sub channel on which any replica asks the holders of an import's keys to poll now. */
export function refreshChannel(importKey: string): string {
  return `${PREFIX}:refresh:${digest(importKey)}`;
}
