import type { GatewayMetrics } from '../metrics.js';
import { sendJson } from './json-response.js';
import type { RouteHandler } from './routes.js';

export interface HealthRoutesOptions {
  /** False before `start` and from the first moment of a drain. */
  isReady: () => boolean;
  /** Extra fields for `/healthz` (the cluster's view in cluster mode). @default none */
  details?: () => object;
}

/**
 * What the orchestrator reads: `/healthz` (alive: 200 while the process serves at all) and
 * `/readyz` (send traffic: 503 before start and while draining).
 */
export function healthRoutes(options: HealthRoutesOptions): [string, RouteHandler][] {
  return [
    ['/healthz', (_request, response) => sendJson(response, 200, { status: 'ok', ...options.details?.() })],
    ['/readyz', (_request, response) => (options.isReady() ? sendJson(response, 200, { status: 'ready' }) : sendJson(response, 503, { status: 'not ready' }))],
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
