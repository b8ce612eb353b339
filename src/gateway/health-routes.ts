import type { GatewayMetrics } from '../metrics.js';
import { sendJson } from './json-response.js';
import type { RouteHandler } from './routes.js';

export interface HealthRoutesOptions {
  /** False before `start` and from the first moment of a drain. */
  isReady: () => boolean;
  /**
   * What the replica leans on besides, by name (the store): `/readyz` asks each and reports it. A
   * dependency that does not answer does not make the replica unready: every replica shares it,
   * so an orchestrator would take them all out at once, while reads and subscriptions still work
   * (the mutations that need it answer STORE_UNAVAILABLE).
   */
  dependencies: Readonly<Record<string, () => Promise<boolean>>>;
  /** Extra fields for `/healthz` (the store's and, in cluster mode, the cluster's view). @default none */
  details?: () => Promise<object>;
}

/**
 * What the orchestrator reads: `/healthz` (alive: 200 while the process serves at all, with
 * details) and `/readyz` (send traffic: 503 before start and while draining; the body names each
 * dependency's state, such as the store's).
 */
export function healthRoutes(options: HealthRoutesOptions): [string, RouteHandler][] {
  return [
    ['/healthz', async (_request, response) => sendJson(response, 200, { status: 'ok', ...(await options.details?.()) })],
    [
      '/readyz',
      async (_request, response) => {
        if (!options.isReady()) return sendJson(response, 503, { status: 'not ready' });
        const names = Object.keys(options.dependencies);
        const answers = await Promise.all(names.map((name) => options.dependencies[name]!()));
        const dependencies = Object.fromEntries(names.map((name, index) => [name, answers[index] ? 'ok' : 'unreachable']));
        // A drain may have begun while the dependencies answered.
        const ready = options.isReady();
        sendJson(response, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', ...dependencies });
      },
    ],
  ];
}

/**
 * What Prometheus reads: `/metrics`, on the public port or on a listener of its own
 * (`METRICS_PORT`); its labels name clientIds and the state of their circuit breakers.
 */
export function metricsRoute(metrics: GatewayMetrics): [string, RouteHandler] {
  return [
    '/metrics',
    async (_request, response) => {
      const { contentType, body } = await metrics.render();
      response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
      response.end(body);
    },
  ];
}
