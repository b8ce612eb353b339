import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GraphiQLOptions, Plugin } from 'graphql-yoga';
import { CSRF_HEADER } from '../plugins/abuse-limits.js';
import { GRAPHIQL_ASSET_DIRECTORY, type GraphiQLAssets, loadGraphiQLAssets } from './assets.js';
import { type RenderedPage, renderPage } from './page.js';
import { graphiqlStarter } from './starter.js';
import { isHashedPath, sendStaticAsset } from './static-asset.js';

export interface GraphiQLPageOptions {
  /** The path GraphiQL is served at and sends its operations to. */
  endpoint: string;
  /** Prefilled in the headers editor (zero config: the development credential). @default none */
  authorization?: string;
  /** `STAGE_MAX_RECORDS`: the starter's StageImport sends no more. */
  maxRecordsPerStage: number;
}

export interface GraphiQL {
  /** The page at `GET <endpoint>` for a browser asking for HTML. */
  plugin: Plugin;
  /** The path every file of the page is under (one level: `<directory><name>`). */
  assetDirectory: string;
  /** Answers a request under `assetDirectory`. */
  serveAsset(request: IncomingMessage, response: ServerResponse): Promise<void>;
}

/**
 * GraphiQL, self-hosted from `@graphql-yoga/render-graphiql`'s parts: nothing is loaded from
 * another origin and it works offline. The page is a few lines, never cached; the ~9 MB of script
 * and styles it names are files under content-hashed names, compressed and cached for a year.
 * yoga's built-in GraphiQL is off (`graphiql: false`): its one inline page can be neither cached
 * nor allowed by a content policy without naming its script.
 */
export function createGraphiQL(options: GraphiQLPageOptions): GraphiQL {
  let loaded: Promise<{ assets: GraphiQLAssets; page: RenderedPage }> | undefined;
  const load = () => {
    loaded ??= loadGraphiQLAssets(graphiqlStarter(options.maxRecordsPerStage)).then(
      (assets) => ({ assets, page: renderPage(assets, graphiqlOptions(options)) }),
      (error: unknown) => {
        loaded = undefined; // the next request tries again
        throw error;
      },
    );
    return loaded;
  };
  return {
    plugin: {
      // Not async: every other request passes through without a promise.
      onRequest({ request, url, fetchAPI, endResponse }) {
        if (request.method !== 'GET' || url.pathname !== options.endpoint || !request.headers.get('accept')?.includes('text/html')) return;
        return load().then(({ page }) => endResponse(new fetchAPI.Response(page.body, { status: 200, headers: page.headers })));
      },
    },
    assetDirectory: GRAPHIQL_ASSET_DIRECTORY,
    async serveAsset(request, response) {
      if (request.method !== 'GET' && request.method !== 'HEAD') return sendText(response, 405, 'Use GET or HEAD.', { allow: 'GET, HEAD' });
      const path = new URL(request.url ?? '/', 'http://localhost').pathname;
      // A name that cannot be one of ours is answered without loading the renderer.
      const asset = isHashedPath(path, GRAPHIQL_ASSET_DIRECTORY) ? (await load()).assets.byPath.get(path) : undefined;
      if (!asset) return sendText(response, 404, "No such file: GraphiQL's files are named by their content; reload the page for the current names.");
      return sendStaticAsset(asset, request, response);
    },
  };
}

function graphiqlOptions({ endpoint, authorization }: GraphiQLPageOptions): GraphiQLOptions {
  return {
    title: 'Bulk-import gateway',
    endpoint,
    ...(authorization !== undefined && { headers: JSON.stringify({ Authorization: authorization }, null, 2) }),
    // Subscriptions over SSE through fetch, which (unlike EventSource) sends the headers editor's
    // Authorization; the WebSocket transport reads the credential from connectionParams instead.
    subscriptionsProtocol: 'SSE',
    // Subscriptions too, which GraphiQL would send as GETs: a GET carries the variables in its URL,
    // and GraphiQL sends all of them with every operation, the starter's 5,000 records included.
    method: 'POST',
    // What CSRF prevention asks of a GET or a form-like POST, should GraphiQL ever send one.
    additionalHeaders: { [CSRF_HEADER]: 'graphiql' },
    // Never keep a credential in localStorage; a development token dies with its process anyway.
    shouldPersistHeaders: false,
  };
}

function sendText(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
  response.end(text);
}
