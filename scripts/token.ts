/**
 * `npm run token`: mints a development JWT from a gateway running with nothing configured (its
 * development issuer; a gateway with a real identity provider has no such route). `--help` says
 * how; prints the token alone on stdout, so `$(npm run -s token)` works.
 */
import { parseArgs } from 'node:util';

const USAGE = `Usage: npm run -s token -- [options]

Mints a development JWT from a gateway running with nothing configured (npm start) and prints
it alone on stdout, so that AUTH="Authorization: Bearer $(npm run -s token)" works.

Options:
  --client ID       a MyPreferences clientId the token grants (repeatable; * for all)   default: demo
  --scope SCOPE     bulk-import:read or bulk-import:write (repeatable)                 default: both
  --ttl SECONDS     the token's lifetime                                               default: 3600
  --subject NAME    the token's subject (sub)                                          default: developer
  --gateway URL     the gateway's GraphQL URL          default: $GATEWAY_URL or http://localhost:4000/graphql
  -h, --help        this text
`;

function parseOptions() {
  try {
    return parseArgs({
      options: {
        client: { type: 'string', multiple: true },
        scope: { type: 'string', multiple: true },
        ttl: { type: 'string' },
        subject: { type: 'string' },
        gateway: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (error) {
    // A mistyped option is the caller's mistake: say which, and how to call, without a stack trace.
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    process.exit(2);
  }
}

const values = parseOptions();
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

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
      response.status === 404
        ? 'this gateway mints no development tokens (it runs with a real identity provider, or with NODE_ENV=production without DEV_TOKEN_ROUTE=true)'
        : (answer.error ?? `HTTP ${response.status}`);
    process.stderr.write(`No token: ${why}\n`);
    process.exit(1);
  }
  process.stdout.write(`${answer.token}\n`);
} catch (error) {
  const why = error instanceof Error ? error.message : String(error);
  process.stderr.write(
    `No token: the gateway at ${gateway.origin} could not be reached (${why}). Is it running (npm start)? Another address: --gateway URL or GATEWAY_URL.\n`,
  );
  process.exit(1);
}
