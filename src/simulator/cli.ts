/**
 * `npm run simulator`: the simulator as a standalone server, configured by environment variables
 * (see `cli-config.ts`). Exit code 2 on an invalid variable, 1 if it cannot listen.
 */
import { oauthScope } from '../mypreferences-contract.js';
import { readSimulatorEnv, SimulatorEnvError } from './cli-config.js';
import { DEMO_ACCOUNT, DEMO_OAUTH_CLIENT, type SimulatorOptions, startSimulator } from './index.js';

async function main(): Promise<void> {
  let options: SimulatorOptions;
  try {
    options = readSimulatorEnv(process.env);
  } catch (error) {
    if (!(error instanceof SimulatorEnvError)) throw error;
    process.stderr.write(`Invalid configuration: ${error.message}\n`);
    process.exit(2);
  }

  const simulator = await startSimulator(options);
  const credential = DEMO_ACCOUNT.credentials.find((candidate) => candidate.canImport);
  process.stdout.write(
    [
      `MyPreferences Bulk Import simulator listening at ${simulator.baseUrl}`,
      `Demo clientId: ${DEMO_ACCOUNT.clientId}`,
      `Demo credential: Authorization: ${credential?.value ?? '(none)'}`,
      `OAuth token endpoint: ${simulator.tokenUrl}`,
      // A public demo fixture like the demo credential above, so printing its secret is harmless.
      `Demo OAuth client (public demo fixture): client_id=${DEMO_OAUTH_CLIENT.clientId} client_secret=${DEMO_OAUTH_CLIENT.clientSecret} scope=${oauthScope(DEMO_ACCOUNT.clientId, DEMO_OAUTH_CLIENT.userId)}`,
      options.controlRoutes ? `Control routes: ${new URL('/__simulator/', simulator.baseUrl).href}` : 'Control routes: disabled',
      `Record receipts: ${options.recordReceipts ? 'on' : 'off'}`,
      '',
    ].join('\n'),
  );

  const shutdown = (): void => {
    void simulator.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`The simulator failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
