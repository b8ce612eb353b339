import type { Secret } from './secret.js';

/** The gateway's own OAuth 2.0 client-credentials account for one MyPreferences clientId. */
export interface ServiceAccount {
  /** The MyPreferences clientId this account acts for (its key in the file). */
  clientId: string;
  /** The OAuth token endpoint. */
  tokenUrl: URL;
  /** The OAuth client id (not the MyPreferences clientId). */
  oauthClientId: string;
  clientSecret: Secret;
  /** Sent as the token request's `scope`: `{ClientId}/{UserId}` for MyPreferences. */
  scope: string;
  /**
   * How the client authenticates at the token endpoint (RFC 6749 §2.3.1): HTTP Basic, or
   * `client_id`/`client_secret` in the form body.
   * @default 'basic'
   */
  auth: 'basic' | 'body';
}
