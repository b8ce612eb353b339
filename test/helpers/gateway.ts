import { type Config, loadConfig } from '../../src/config/config.js';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/gateway/gateway.js';
import { type Logger, silentLogger } from '../../src/logger.js';

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
 * unless `env` says otherwise (jwt tests set it with their own JWKS and service accounts).
 */
export async function startGateway(
  upstreamBaseUrl: string,
  env: Record<string, string> = {},
  register?: (dispose: () => unknown) => void,
  options: { logger?: Logger } & Pick<GatewayOptions, 'refusedBodyDrain'> = {},
): Promise<RunningGateway> {
  const config: Config = loadConfig({ PORT: '0', HOST: '127.0.0.1', MYPREFERENCES_BASE_URL: upstreamBaseUrl, AUTH_MODE: 'passthrough', ...env });
  const { logger = silentLogger(), ...gatewayOptions } = options;
  const gateway = createGateway({ config, upstreamBaseUrl: new URL(upstreamBaseUrl), logger, ...gatewayOptions });
  const { port, metricsUrl } = await gateway.start();
  register?.(() => gateway.stop());
  const origin = `http://127.0.0.1:${port}`;
  return { gateway, url: `${origin}/graphql`, wsUrl: `ws://127.0.0.1:${port}/graphql`, origin, metricsUrl };
}
