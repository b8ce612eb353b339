/**
 * `npm run token`: mints a development JWT from a gateway running with nothing configured (its
 * development issuer; a gateway with a real identity provider has no such route).
 *
 *   npm run -s token -- --client demo --scope bulk-import:read --ttl 600
 *
 * Options (each may repeat where it makes sense): `--client ID` (default demo; `*` for all),
 * `--scope bulk-import:read|bulk-import:write` (default both), `--ttl SECONDS` (default 3600),
 * `--subject NAME` (default developer), `--gateway URL` (default $GATEWAY_URL or
 * http://localhost:4000/graphql). Prints the token alone on stdout, so `$(npm run -s token)` works.
 */
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    client: { type: 'string', multiple: true },
    scope: { type: 'string', multiple: true },
    ttl: { type: 'string' },
    subject: { type: 'string' },
    gateway: { type: 'string' },
  },
  strict: true,
});

const gateway = new URL(values.gateway ?? process.env['GATEWAY_URL'] ?? 'http://localhost:4000/graphql');
const body = {
  ...(values.client && { clients: values.client }),
  ...(values.scope && { scopes: values.scope }),
  ...(values.ttl !== undefined && { ttlSeconds: Number(values.ttl) }),
  ...(values.subject !== undefined && { subject: values.subject }),
};

try {
  const response = await fetch(new URL('/dev/token', gateway), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await response.json().catch(() => ({}))) as { token?: string; error?: string };
  if (!response.ok || !answer.token) {
    const why =
      response.status === 404 ? 'this gateway has no development issuer (it runs with a real identity provider)' : (answer.error ?? `HTTP ${response.status}`);
    process.stderr.write(`No token: ${why}\n`);
    process.exit(1);
  }
  process.stdout.write(`${answer.token}\n`);
} catch (error) {
  process.stderr.write(`No token: the gateway at ${gateway.origin} could not be reached (${error instanceof Error ? error.message : String(error)})\n`);
  process.exit(1);
}
