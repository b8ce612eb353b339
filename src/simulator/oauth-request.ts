/**
 * Reading a token request (RFC 6749 §4.4.2): its form body and the client authentication it
 * carries, either HTTP Basic or `client_id`/`client_secret` in the body (§2.3.1). Pure functions,
 * so the rules are easy to read and change in one place.
 */

/** The form media type the token endpoint requires (§4.4.2, appendix B). */
const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

/** A parsed form body, or why it is refused (→ 400 `invalid_request`). */
export type TokenFormResult = { ok: true; params: ReadonlyMap<string, string> } | { ok: false; message: string };

/** How the request authenticates its client. */
export type ClientAuthentication =
  /** A client id and secret, from the Basic header or the body; the secret may be missing. */
  | { kind: 'credentials'; clientId: string; clientSecret: string | undefined }
  /** An `Authorization` header and body credentials at once (§2.3: at most one method). */
  | { kind: 'both' }
  /** No authentication, an unsupported scheme or an undecodable Basic header (→ 401). */
  | { kind: 'none' };

/** True for `application/x-www-form-urlencoded`, parameters such as `charset` allowed. */
export function isFormContentType(contentType: string | undefined): boolean {
  return contentType?.split(';', 1)[0]?.trim().toLowerCase() === FORM_CONTENT_TYPE;
}

/**
 * Parses the body. A parameter sent twice is refused (§3.2: parameters MUST NOT be included more
 * than once); an empty one reads as omitted (§3.1).
 */
export function parseTokenForm(body: Buffer): TokenFormResult {
  const params = new Map<string, string>();
  const seen = new Set<string>();
  for (const [name, value] of new URLSearchParams(body.toString('utf8'))) {
    if (seen.has(name)) return { ok: false, message: `The parameter ${JSON.stringify(name)} is included more than once.` };
    seen.add(name);
    if (value !== '') params.set(name, value);
  }
  return { ok: true, params };
}

/**
 * The client authentication of a request. Any `Authorization` header counts as an attempt, so a
 * header plus body credentials is `both` whatever its scheme.
 */
export function readClientAuthentication(authorization: string | undefined, params: ReadonlyMap<string, string>): ClientAuthentication {
  const inBody = params.has('client_id') || params.has('client_secret');
  if (authorization !== undefined && inBody) return { kind: 'both' };
  if (authorization !== undefined) return parseBasic(authorization) ?? { kind: 'none' };
  const clientId = params.get('client_id');
  if (clientId === undefined) return { kind: 'none' };
  return { kind: 'credentials', clientId, clientSecret: params.get('client_secret') };
}

/** `Basic base64(urlencode(id) ":" urlencode(secret))` (§2.3.1); undefined when malformed. */
function parseBasic(authorization: string): ClientAuthentication | undefined {
  const encoded = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(authorization)?.[1];
  if (encoded === undefined) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  const clientId = formDecode(decoded.slice(0, colon));
  const clientSecret = formDecode(decoded.slice(colon + 1));
  if (clientId === undefined || clientId === '' || clientSecret === undefined) return undefined;
  return { kind: 'credentials', clientId, clientSecret };
}

/** Decodes one form-urlencoded value (`+` is a space); undefined for a malformed escape. */
function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}
