/**
 * main: read the configuration, start the upstream (the built-in simulator when no
 * MYPREFERENCES_BASE_URL is set), start the gateway, stop both on SIGTERM/SIGINT. Nothing else
 * lives here, and nothing imports this file.
 */
import { ConfigError, loadConfig, type Config } from './config/config.js';
import { createGateway } from './gateway/gateway.js';
import { createLogger, type Logger } from './logging/logger.js';
import { DEMO_ACCOUNT, startSimulator, type Simulator } from './simulator/index.js';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`Invalid configuration: ${error.message}\n`);
    process.exit(2);
  }
  const logger = createLogger(config.logLevel);

  const simulator = config.upstream.baseUrl ? undefined : await startEmbeddedSimulator(config, logger);
  const upstreamBaseUrl = config.upstream.baseUrl ?? new URL(simulator!.baseUrl);
  const demoCredential = simulator ? DEMO_ACCOUNT.credentials[0]!.value : undefined;

  const gateway = createGateway({
    config,
    upstreamBaseUrl,
    logger,
    ...(demoCredential !== undefined && { graphiqlAuthorization: demoCredential }),
  });
  const { url } = await gateway.start();
  logger.info({ url, upstream: upstreamBaseUrl.origin }, `bulk-import gateway listening on ${url}`);

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
    await simulator?.stop();
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', (signal) => void shutdown(signal));
  process.once('SIGINT', (signal) => void shutdown(signal));
}

async function startEmbeddedSimulator(config: Config, logger: Logger): Promise<Simulator> {
  const simulator = await startSimulator({
    port: 0,
    host: '127.0.0.1',
    recordsPerSecond: config.simulator.recordsPerSecond,
  });
  const demo = DEMO_ACCOUNT.credentials[0]!;
  logger.warn(
    { simulator: simulator.baseUrl, clientId: DEMO_ACCOUNT.clientId, demoAuthorization: demo.value },
    `MYPREFERENCES_BASE_URL is not set: using the BUILT-IN SIMULATOR at ${simulator.baseUrl}, not the real MyPreferences. ` +
      `Demo account: clientId "${DEMO_ACCOUNT.clientId}", send the header "Authorization: ${demo.value}".`,
  );
  return simulator;
}

main().catch((error: unknown) => {
  process.stderr.write(`The gateway failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
