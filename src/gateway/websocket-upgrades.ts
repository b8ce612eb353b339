import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { assignRequestId, REQUEST_ID_HEADER } from '../telemetry/request-id.js';
import type { OriginPolicy } from '../transport/origin-policy.js';
import type { WebSocketTransport } from '../transport/websocket.js';
import { GRAPHQL_PATH } from '../transport/yoga.js';
import { pathOf } from './routes.js';

export interface UpgradeOptions {
  isDraining: () => boolean;
  origins: OriginPolicy;
  websocket: Pick<WebSocketTransport, 'handleUpgrade'>;
}

/**
 * The HTTP server's `upgrade` listener: only `/graphql`, only while not draining (503: reconnect
 * to another replica), only from an allowed Origin (403) — browsers open WebSockets cross-origin
 * without a preflight, so that check is ours to make.
 */
export function routeUpgrades(options: UpgradeOptions): (request: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (request, socket, head) => {
    // The connection's id, in every answer: the refusals below, and the 101 (websocket.ts).
    const requestId = assignRequestId(request);
    if (options.isDraining()) return refuseUpgrade(socket, 503, 'Service Unavailable', requestId);
    if (pathOf(request) !== GRAPHQL_PATH) return refuseUpgrade(socket, 404, 'Not Found', requestId);
    if (!options.origins.allows(request.headers.origin, request.headers.host)) return refuseUpgrade(socket, 403, 'Forbidden', requestId);
    options.websocket.handleUpgrade(request, socket, head);
  };
}

function refuseUpgrade(socket: Duplex, status: number, text: string, requestId: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n${REQUEST_ID_HEADER}: ${requestId}\r\n\r\n`);
}
