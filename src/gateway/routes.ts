import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import { assignRequestId, REQUEST_ID_HEADER } from '../telemetry/request-id.js';
import { sendJson } from './json-response.js';

/** Answers one path. A handler that throws or rejects is answered 500 by the router, never left hanging. */
export type RouteHandler = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

/**
 * Path → handler; the query string is not part of the path. A key ending in `/` is a directory:
 * it answers every path directly under it that has no route of its own.
 */
export type Routes = ReadonlyMap<string, RouteHandler>;

/**
 * The HTTP server's request listener: each path to its handler (or its directory's), 404 for any
 * other. Every request gets its id first (`x-request-id`: the caller's if well-formed, else a new
 * one), answered on every response. A failed handler is logged (with its path and id, never its
 * headers) and answered 500 if nothing was sent yet.
 */
export function routeRequests(routes: Routes, logger: Logger): RequestListener {
  return (request, response) => {
    // Before anything can answer: every response carries the id, whichever path writes it.
    const requestId = assignRequestId(request);
    response.setHeader(REQUEST_ID_HEADER, requestId);
    const path = pathOf(request);
    const handler = routes.get(path) ?? routes.get(path.slice(0, path.lastIndexOf('/') + 1));
    if (!handler) return sendJson(response, 404, { status: 'not found' });
    const failed = (error: unknown) => {
      logger.error({ err: error, path, requestId }, 'request failed');
      if (!response.headersSent) sendJson(response, 500, { status: 'unexpected error' });
      else response.destroy();
    };
    try {
      handler(request, response)?.catch(failed);
    } catch (error) {
      failed(error);
    }
  };
}

export function pathOf(request: IncomingMessage): string {
  const url = request.url ?? '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
