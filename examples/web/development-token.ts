/**
 * Where the page's credential comes from. In your app, your sign-in (OIDC, a session) gives you
 * the company JWT: replace this module with that. The zero-config gateway runs a development
 * identity provider that mints tokens at `POST /dev/token`, for loopback callers only (a browser
 * on the machine that runs `npm start`).
 *
 * Returns the function the client calls before every request and (re)connection: it mints once,
 * then again a minute before the token expires.
 */
export function developmentAuthorization(origin: string, clientId: string): () => Promise<string> {
  let current: { authorization: string; renewAt: number } | undefined;
  return async () => {
    if (current && Date.now() < current.renewAt) return current.authorization;
    const response = await fetch(new URL('/dev/token', origin), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ clients: [clientId], ttlSeconds: 900, subject: 'progress-page' }),
    });
    // A zero-config gateway in passthrough mode has no issuer: callers send the simulator's demo credential (for good).
    if (response.status === 404) {
      current = { authorization: 'Bearer demo-import-token', renewAt: Number.POSITIVE_INFINITY };
      return current.authorization;
    }
    const body = (await response.json()) as { token?: string; expiresAt?: string; error?: string };
    if (!response.ok || !body.token || !body.expiresAt) throw new Error(body.error ?? `no development token (HTTP ${response.status})`);
    current = { authorization: `Bearer ${body.token}`, renewAt: Date.parse(body.expiresAt) - 60_000 };
    return current.authorization;
  };
}
