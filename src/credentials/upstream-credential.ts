/**
 * What the upstream client sends as `Authorization` on one call, and whose data it fetches.
 *
 * Two kinds exist: a caller's own MyPreferences credential forwarded unchanged (passthrough
 * mode, {@link ForwardedCredential}), and one of the gateway's service accounts, whose OAuth token
 * is fetched and renewed behind this interface (jwt mode, `ServiceTokenCredential`).
 */
export interface UpstreamCredential {
  /**
   * Identifies whose view of the upstream a call gets, for keys that must keep tenants apart
   * (pollers, caches, shared executions, Redis). Never secret: it may appear in keys and logs.
   */
  readonly id: string;
  /** The `Authorization` value for the next call (a service token may be fetched or renewed first). */
  authorization(signal?: AbortSignal): Promise<string>;
  /**
   * The upstream answered 401 to `authorization`. True when a fresh value is worth one retry
   * (a service token the upstream no longer accepts); false when retrying cannot help.
   */
  rejected(authorization: string): boolean;
}
