import { createHash } from 'node:crypto';
import type { GraphiQLOptions, Plugin } from 'graphql-yoga';
import { CSRF_HEADER } from './abuse-limits.js';
import { STARTER_DOCUMENT, STARTER_VARIABLES } from './graphiql-starter.js';

export interface GraphiQLPageOptions {
  /** The path GraphiQL is served at and sends its operations to. */
  endpoint: string;
  /** Prefilled in the headers editor (zero config: the development credential). @default none */
  authorization?: string;
}

/**
 * GraphiQL at `GET <endpoint>` for a browser asking for HTML, self-hosted: the page is yoga's
 * `@graphql-yoga/render-graphiql`, which inlines the whole bundle (script, styles, the Monaco
 * workers as blob URLs), so it loads nothing from another origin and works offline.
 *
 * yoga's own GraphiQL answer carries only a Content-Type, and a content policy must name the
 * exact inline script, so this plugin renders the page (once, on the first request) and answers
 * it with its security headers; yoga's built-in GraphiQL is off (`graphiql: false`).
 */
export function useGraphiQL(options: GraphiQLPageOptions): Plugin {
  let page: Promise<RenderedPage> | undefined;
  return {
    // Not async: every other request passes through without a promise.
    onRequest({ request, url, fetchAPI, endResponse }) {
      if (request.method !== 'GET' || url.pathname !== options.endpoint || !request.headers.get('accept')?.includes('text/html')) return;
      page ??= renderPage(graphiqlOptions(options));
      return page.then(({ body, headers }) => endResponse(new fetchAPI.Response(body, { status: 200, headers })));
    },
  };
}

function graphiqlOptions({ endpoint, authorization }: GraphiQLPageOptions): GraphiQLOptions {
  const headers = authorization === undefined ? undefined : JSON.stringify({ Authorization: authorization }, null, 2);
  return {
    title: 'Bulk-import gateway',
    endpoint,
    defaultTabs: [{ query: STARTER_DOCUMENT, variables: STARTER_VARIABLES, headers: headers ?? null }],
    ...(headers !== undefined && { headers }),
    // Sent with every request, introspection and subscriptions included: a subscription goes out
    // as a GET (SSE), which CSRF prevention refuses without this header.
    additionalHeaders: { [CSRF_HEADER]: 'graphiql' },
    // Subscriptions over SSE through fetch, which (unlike EventSource) sends the headers editor's
    // Authorization; the WebSocket transport reads the credential from connectionParams instead.
    subscriptionsProtocol: 'SSE',
    // Never keep a credential in localStorage; a development token dies with its process anyway.
    shouldPersistHeaders: false,
  };
}

interface RenderedPage {
  body: Uint8Array<ArrayBuffer>;
  headers: Record<string, string>;
}

async function renderPage(options: GraphiQLOptions): Promise<RenderedPage> {
  // Loaded on the first page request, not at start: the renderer holds GraphiQL's whole bundle
  // (~0.5 s to load and ~48 MB of RSS), which a gateway nobody opens GraphiQL on never needs.
  const { renderGraphiQL } = await import('@graphql-yoga/render-graphiql');
  const html = renderGraphiQL(options);
  const script = inlineScript(html);
  const policy = [
    "default-src 'none'",
    // The one inline script, by its hash: no other script runs, injected or not.
    `script-src '${sha256(script)}'`,
    // The Monaco editor's workers are blob: URLs the page makes from its own inlined code.
    'worker-src blob:',
    // Unavoidable for styles: the Monaco editor adds <style> elements at run time and React sets
    // style attributes, which no hash can name in advance (checked: with the page's own <style>
    // hashed instead, Chromium blocks hundreds of them). Scripts stay hash-only.
    "style-src 'self' 'unsafe-inline'",
    // The favicon and the icons are data: URLs inside the page.
    "img-src 'self' data:",
    "font-src 'self' data:",
    // Operations and subscriptions go to this origin only.
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return {
    body: new TextEncoder().encode(html),
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': policy,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      // The page may carry the development credential: no cache keeps it.
      'cache-control': 'no-store',
    },
  };
}

/**
 * The text of the page's one inline script. A second one would be outside the policy's hash, so
 * a renderer version that adds one fails loudly here rather than rendering a blank page.
 */
function inlineScript(html: string): string {
  const start = html.indexOf('<script>');
  const end = html.indexOf('</script>', start);
  if (start === -1 || end === -1 || html.includes('<script', end)) throw new Error('GraphiQL: expected exactly one inline <script> in the rendered page');
  return html.slice(start + '<script>'.length, end);
}

function sha256(text: string): string {
  return `sha256-${createHash('sha256').update(text).digest('base64')}`;
}
