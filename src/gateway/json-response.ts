import type { ServerResponse } from 'node:http';

/** A small JSON answer that no cache may keep (health, tokens, refusals of the side routes). */
export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  response.end(JSON.stringify(body));
}
