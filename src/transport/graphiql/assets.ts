import { startScript } from './start-script.js';
import type { GraphiQLStarter } from './starter.js';
import { StaticAsset } from './static-asset.js';

/** Where GraphiQL's files are served, each under a content-hashed name. */
export const GRAPHIQL_ASSET_DIRECTORY = '/graphiql/';

const JAVASCRIPT = 'text/javascript; charset=utf-8';

export interface GraphiQLAssets {
  style: StaticAsset;
  favicon: StaticAsset;
  /** Ours: reads the page's settings, points Monaco at its workers, renders GraphiQL with the starter. */
  start: StaticAsset;
  /** GraphiQL itself (React, Monaco): defines `YogaGraphiQL`. */
  bundle: StaticAsset;
  /** Monaco's workers by the label Monaco asks for. */
  workers: Record<'editorWorkerService' | 'json' | 'graphql', StaticAsset>;
  byPath: ReadonlyMap<string, StaticAsset>;
}

/**
 * GraphiQL as separate files: `@graphql-yoga/render-graphiql` inlines everything into one 9 MB
 * page, which no cache can keep (the page may carry a credential) and no content policy can allow
 * without naming its inline script. Its parts are exported one by one, so each becomes a file.
 */
export async function loadGraphiQLAssets(starter: GraphiQLStarter): Promise<GraphiQLAssets> {
  // Loaded on the first request, not at start: the bundle is ~0.5 s to load and ~48 MB of RSS,
  // which a gateway nobody opens GraphiQL on never needs.
  const parts = await import('@graphql-yoga/render-graphiql/graphiql');
  const asset = (fileName: string, contentType: string, body: string | Buffer) =>
    new StaticAsset(GRAPHIQL_ASSET_DIRECTORY, fileName, contentType, typeof body === 'string' ? Buffer.from(body) : body);
  const favicon = decodeDataUrl(parts.favicon);
  const assets = {
    style: asset('graphiql.css', 'text/css; charset=utf-8', parts.css),
    favicon: asset(`favicon.${favicon.extension}`, favicon.contentType, favicon.body),
    start: asset('start.js', JAVASCRIPT, startScript(starter)),
    bundle: asset('graphiql.js', JAVASCRIPT, parts.js),
    workers: {
      editorWorkerService: asset('editor.worker.js', JAVASCRIPT, parts.editorWorkerService),
      json: asset('json.worker.js', JAVASCRIPT, parts.jsonWorker),
      graphql: asset('graphql.worker.js', JAVASCRIPT, parts.graphqlWorker),
    },
  };
  const all = [assets.style, assets.favicon, assets.start, assets.bundle, ...Object.values(assets.workers)];
  return { ...assets, byPath: new Map(all.map((file) => [file.path, file])) };
}

const EXTENSIONS: Readonly<Record<string, string>> = { 'image/x-icon': 'ico', 'image/png': 'png', 'image/svg+xml': 'svg' };

/** The favicon comes as a base64 `data:` URL; a renderer that changes that fails here, not in the browser. */
function decodeDataUrl(url: string): { contentType: string; extension: string; body: Buffer } {
  const match = /^data:([\w.+/-]+);base64,(.*)$/s.exec(url);
  const extension = match && EXTENSIONS[match[1]!];
  if (!match || !extension) throw new Error("GraphiQL: expected the renderer's favicon as a base64 data: URL of an icon");
  return { contentType: match[1]!, extension, body: Buffer.from(match[2]!, 'base64') };
}
