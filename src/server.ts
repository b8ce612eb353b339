/**
 * main: read the configuration, start the upstream (the built-in simulator, and a development
 * identity provider, when no MYPREFERENCES_BASE_URL is set), start the gateway, stop both on
 * SIGTERM/SIGINT. Nothing else lives here, and nothing imports this file.
 */
import { createDevelopmentIssuer, type DevelopmentIssuer } from './auth/development-issuer.js';
import { type Config, InvalidConfiguration, loadConfig } from './config/config.js';
import { Secret } from './credentials/secret.js';
import { createGateway } from './gateway/gateway.js';
import { createLogger, type Logger } from './logger.js';
import { DEMO_ACCOUNT, type Simulator, startSimulator } from './simulator/index.js';
import { startTracing } from './telemetry/tracing.js';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof InvalidConfiguration)) throw error;
    const count = error.problems.length === 1 ? '1 problem' : `${error.problems.length} problems`;
    const lines = error.problems.map((problem) => `  ${problem.message}\n`).join('');
    process.stderr.write(`Invalid configuration (${count}):\n${lines}See the README's Configuration table; .env.example is a minimal production setup.\n`);
    process.exit(2);
  }
  const logger = createLogger(config.logLevel);
  // Before anything else runs, so that every span has a provider (nothing is started without an endpoint).
  const tracing = await startTracing(config.tracing, logger);

  const embedded = config.upstream.baseUrl ? undefined : await startEmbedded(config, logger);
  const upstreamBaseUrl = config.upstream.baseUrl ?? new URL(embedded!.simulator.baseUrl);

  const gateway = createGateway({
    config: embedded?.config ?? config,
    upstreamBaseUrl,
    logger,
    ...(embedded && { graphiqlAuthorization: embedded.demoAuthorization }),
    ...(embedded?.issuer && { developmentIssuer: embedded.issuer }),
    ...(embedded && { demoPage: true }),
  });
  const { url, metricsUrl } = await gateway.start();
  logger.info({ url, metricsUrl, upstream: upstreamBaseUrl.origin, authMode: config.auth.mode }, `bulk-import gateway listening on ${url}`);
  if (metricsUrl === undefined) {
    logger.warn('/metrics is served nowhere: with NODE_ENV=production the public port serves only the API; set METRICS_PORT for a listener of its own');
  }

  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal, ...config.drain }, 'shutting down: draining');
    // Whatever happens, the process is gone by the deadline.
    setTimeout(() => {
      logger.warn('drain deadline reached: exiting');
      process.exit(0);
    }, config.drain.deadlineMs).unref();
    await gateway.drain(config.drain);
    await embedded?.simulator.stop();
    // The spans of the drain itself included; a collector that does not answer costs at most the deadline.
    await tracing?.shutdown().catch((error: unknown) => logger.warn({ err: error }, 'tracing shutdown failed'));
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', (signal) => void shutdown(signal));
  process.once('SIGINT', (signal) => void shutdown(signal));
}

interface Embedded {
  simulator: Simulator;
  /** The configuration with the simulator's demo service account added (jwt mode). */
  config: Config;
  issuer: DevelopmentIssuer | undefined;
  /** What the demo caller sends as Authorization: a development JWT, or (passthrough) the demo credential. */
  demoAuthorization: string;
}

/**
 * Zero config: the simulator as the upstream and, in jwt mode, a development issuer as the
 * identity provider, with the simulator's demo OAuth client as the gateway's service account for
 * clientId `demo` — the same moving parts as a real deployment, all in this process.
 */
async function startEmbedded(config: Config, logger: Logger): Promise<Embedded> {
  const simulator = await startSimulator({
    port: 0,
    host: '127.0.0.1',
    recordsPerSecond: config.simulator.recordsPerSecond,
    tokenTtlSeconds: config.simulator.tokenTtlS,
  });
  let embedded: Embedded;
  if (config.auth.mode === 'jwt') {
    const issuer = config.auth.jwt.jwksUrl ? undefined : await createDevelopmentIssuer(config.auth.jwt);
    const oauth = DEMO_ACCOUNT.oauthClients![0]!;
    const serviceAccounts = new Map(config.auth.serviceAccounts);
    if (!serviceAccounts.has(DEMO_ACCOUNT.clientId)) {
      serviceAccounts.set(DEMO_ACCOUNT.clientId, {
        clientId: DEMO_ACCOUNT.clientId,
        tokenUrl: new URL(simulator.tokenUrl),
        oauthClientId: oauth.clientId,
        clientSecret: new Secret(oauth.clientSecret),
        scope: `${DEMO_ACCOUNT.clientId}/${oauth.userId}`,
        auth: 'basic',
      });
    }
    const demoToken = issuer ? `Bearer ${(await issuer.mint()).token}` : '(a token of your AUTH_JWKS_URL issuer)';
    embedded = { simulator, issuer, demoAuthorization: demoToken, config: { ...config, auth: { ...config.auth, serviceAccounts } } };
  } else {
    embedded = { simulator, issuer: undefined, config, demoAuthorization: DEMO_ACCOUNT.credentials[0]!.value };
  }
  logger.warn(
    { simulator: simulator.baseUrl, clientId: DEMO_ACCOUNT.clientId, authMode: config.auth.mode, demoAuthorization: embedded.demoAuthorization },
    `MYPREFERENCES_BASE_URL is not set: using the BUILT-IN SIMULATOR at ${simulator.baseUrl}, not the real MyPreferences` +
      (embedded.issuer ? ', and a DEVELOPMENT IDENTITY PROVIDER (npm run token mints more tokens). ' : '. ') +
      `Demo account: clientId "${DEMO_ACCOUNT.clientId}", send the header "Authorization: ${embedded.demoAuthorization}".`,
  );
  return embedded;
}

main().catch((error: unknown) => {
  process.stderr.write(`The gateway failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
