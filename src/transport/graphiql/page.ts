import type { GraphiQLOptions } from 'graphql-yoga';
import type { GraphiQLAssets } from './assets.js';
import { CONFIG_ELEMENT_ID, ROOT_ELEMENT_ID } from './start-script.js';

export interface RenderedPage {
  body: string;
  headers: Record<string, string>;
}

/** Every script and worker is a file of this origin: no inline script runs, injected or not. */
const CONTENT_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "worker-src 'self'",
  // Unavoidable for styles: the Monaco editor adds <style> elements at run time and React sets
  // style attributes, which no hash can name in advance. Scripts stay this origin's files only.
  "style-src 'self' 'unsafe-inline'",
  // The stylesheet's icons and fonts are data: URLs inside it.
  "img-src 'self' data:",
  "font-src 'self' data:",
  // Operations and subscriptions go to this origin only.
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The page at `GET <endpoint>`: a few lines naming the files, and GraphiQL's settings as a JSON
 * data block. It may carry the development credential (the headers editor's), so no cache keeps
 * it; the files it names, ~9 MB before compression, are cached for a year.
 */
export function renderPage(assets: GraphiQLAssets, options: GraphiQLOptions): RenderedPage {
  const config = {
    options,
    workers: Object.fromEntries(Object.entries(assets.workers).map(([label, worker]) => [label, worker.path])),
  };
  const body = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${escapeHtml(options.title ?? 'GraphiQL')}</title>
    <link rel="icon" href="${assets.favicon.path}" />
    <link rel="stylesheet" href="${assets.style.path}" />
    <script defer src="${assets.start.path}"></script>
    <script defer src="${assets.bundle.path}"></script>
  </head>
  <body class="no-focus-outline">
    <noscript>GraphiQL needs JavaScript.</noscript>
    <div id="${ROOT_ELEMENT_ID}"></div>
    <script type="application/json" id="${CONFIG_ELEMENT_ID}">${jsonInHtml(config)}</script>
  </body>
</html>
`;
  return {
    body,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': CONTENT_POLICY,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      // The page may carry the development credential: no cache keeps it.
      'cache-control': 'no-store',
    },
  };
}

function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

/** JSON that cannot end its <script> element early: every `<` escaped (JSON.parse reads it back). */
function jsonInHtml(value: unknown): string {
  return JSON.stringify(value).replaceAll('<', '\\u003c');
}
