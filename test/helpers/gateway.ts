import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, loadConfig } from '../../src/config/config.js';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/gateway/gateway.js';
import { type Logger, silentLogger } from '../../src/logger.js';

/** A fresh, empty folder for one gateway's embedded store. */
export function temporaryDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'gateway-data-'));
}

export interface RunningGateway {
  gateway: Gateway;
  /** `http://127.0.0.1:PORT/graphql` */
  url: string;
  /** `ws://127.0.0.1:PORT/graphql` */
  wsUrl: string;
  origin: string;
  /** Where `/metrics` is served: the public port, `METRICS_PORT`'s listener, or nowhere (undefined). */
  metricsUrl: string | undefined;
}

/**
 * Starts a real gateway on a free loopback port in front of `upstreamBaseUrl`. `env` sets any
 * configuration variable, exactly as the process environment would; `AUTH_MODE` is passthrough
 * unless `env` says otherwise (jwt tests set it with their own JWKS and service accounts). Its
 * embedded store lives in a fresh folder (removed with the gateway) unless `env` names a
 * `DATA_DIR` or a `DATABASE_URL`.
 */
export async function startGateway(
  upstreamBaseUrl: string,
  env: Record<string, string> = {},
  register?: (dispose: () => unknown) => void,
  options: { logger?: Logger } & Pick<GatewayOptions, 'refusedBodyDrain' | 'timers' | 'demoPage'> = {},
): Promise<RunningGateway> {
  const dataDir = env['DATA_DIR'] === undefined && env['DATABASE_URL'] === undefined ? temporaryDataDir() : undefined;
  const config: Config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    MYPREFERENCES_BASE_URL: upstreamBaseUrl,
    AUTH_MODE: 'passthrough',
    ...(dataDir && { DATA_DIR: dataDir }),
    ...env,
  });
  const { logger = silentLogger(), ...gatewayOptions } = options;
  const gateway = createGateway({ config, upstreamBaseUrl: new URL(upstreamBaseUrl), logger, ...gatewayOptions });
  const removeDataDir = () => dataDir && rmSync(dataDir, { recursive: true, force: true });
  let port: number;
  let metricsUrl: string | undefined;
  try {
    ({ port, metricsUrl } = await gateway.start());
  } catch (error) {
    removeDataDir();
    throw error;
  }
  register?.(async () => {
    await gateway.stop();
    removeDataDir();
  });
  const origin = `http://127.0.0.1:${port}`;
  return { gateway, url: `${origin}/graphql`, wsUrl: `ws://127.0.0.1:${port}/graphql`, origin, metricsUrl };
}
