import type { IncomingMessage, ServerResponse } from 'node:http';
import { SCOPES } from '../auth/caller.js';
import type { DevelopmentIssuer } from '../auth/development-issuer.js';
import { sendJson } from './json-response.js';
import type { RouteHandler } from './routes.js';

/**
 * The development issuer's two routes, served only when the gateway runs it (zero config):
 *
 * - `GET /.well-known/jwks.json`: its public keys, as any identity provider publishes them.
 * - `POST /dev/token` `{"clients": ["demo"], "scopes": ["bulk-import:read"], "ttlSeconds": 600, "subject": "me"}`
 *   → `{"token": "…", "expiresAt": "…"}`: what `npm run token` calls. Only from loopback: even a
 *   development gateway should not hand out tokens to its network. Loopback is not enough where
 *   a reverse proxy runs on the same host (every caller it forwards comes from loopback), so the
 *   route is served only when `mintTokens` says so (`DEV_TOKEN_ROUTE`: off with
 *   `NODE_ENV=production` unless set by name).
 */
const JWKS_PATH = '/.well-known/jwks.json';
const DEV_TOKEN_PATH = '/dev/token';

const MAX_BODY_BYTES = 4096;
const MAX_TTL_SECONDS = 86_400;
const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

export function developmentRoutes(issuer: DevelopmentIssuer, { mintTokens }: { mintTokens: boolean }): [string, RouteHandler][] {
  return [
    [JWKS_PATH, (_request, response) => sendJson(response, 200, issuer.jwks)],
    ...(mintTokens ? [[DEV_TOKEN_PATH, (request, response) => serveDevelopmentToken(issuer, request, response)] satisfies [string, RouteHandler]] : []),
  ];
}

async function serveDevelopmentToken(issuer: DevelopmentIssuer, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method !== 'POST') return sendJson(response, 405, { error: 'Use POST.' }, { allow: 'POST' });
  if (!LOOPBACK.has(request.socket.remoteAddress ?? '')) return sendJson(response, 403, { error: 'Development tokens are only minted for loopback callers.' });
  const body = await readBody(request);
  if (body === undefined) return sendJson(response, 413, { error: `The body may not exceed ${MAX_BODY_BYTES} bytes.` });
  let json: Record<string, unknown>;
  try {
    json = body.trim() === '' ? {} : (JSON.parse(body) as Record<string, unknown>);
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new TypeError();
  } catch {
    return sendJson(response, 400, { error: 'The body must be a JSON object.' });
  }
  const { clients, scopes, ttlSeconds, subject } = json;
  const known = Object.values(SCOPES) as string[];
  if (clients !== undefined && !isStringList(clients)) return sendJson(response, 400, { error: 'clients must be a list of clientIds (or ["*"]).' });
  if (scopes !== undefined && !(isStringList(scopes) && scopes.every((scope) => known.includes(scope)))) {
    return sendJson(response, 400, { error: `scopes must be a list of ${known.join(', ')}.` });
  }
  if (ttlSeconds !== undefined && !(Number.isInteger(ttlSeconds) && (ttlSeconds as number) >= 1 && (ttlSeconds as number) <= MAX_TTL_SECONDS)) {
    return sendJson(response, 400, { error: `ttlSeconds must be a whole number from 1 to ${MAX_TTL_SECONDS}.` });
  }
  if (subject !== undefined && !(typeof subject === 'string' && subject.length > 0 && subject.length <= 200)) {
    return sendJson(response, 400, { error: 'subject must be a non-empty string.' });
  }
  const minted = await issuer.mint({
    ...(clients !== undefined && { clients: clients as string[] }),
    ...(scopes !== undefined && { scopes: scopes as string[] }),
    ...(ttlSeconds !== undefined && { ttlSeconds: ttlSeconds as number }),
    ...(subject !== undefined && { subject: subject as string }),
  });
  sendJson(response, 200, { token: minted.token, expiresAt: minted.expiresAt.toISOString() });
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.length > 0 && value.length <= 100 && value.every((item) => typeof item === 'string' && item !== '');
}

/** The body as text, or undefined when it is larger than allowed (then the connection is closed). */
function readBody(request: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        request.removeAllListeners('data');
        request.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
