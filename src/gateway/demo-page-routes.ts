import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { sendJson } from './json-response.js';
import type { RouteHandler } from './routes.js';

/**
 * The progress page of zero config (`GET /demo`): the browser client in `examples/web/`, served
 * from the checkout as it is written, so that what a web team copies is what runs here.
 *
 * The page's TypeScript is bundled with esbuild on the first request, then kept in memory: the
 * page needs no build step of its own (`npm run build` compiles the gateway only), and esbuild,
 * a devDependency, never becomes something production needs. Production with a real upstream
 * does not serve the page at all; an installation without its parts answers 503 saying why.
 */
const WEB_EXAMPLE = new URL('../../examples/web/', import.meta.url);

const PAGE_PATH = '/demo';
const SCRIPT_PATH = '/demo/progress-page.js';
const STYLE_PATH = '/demo/progress-page.css';

/**
 * The page's own files only, and connections to this origin only: graphql-ws, the development
 * token, and the file section's tus uploads (a job's `uploadUrl` is on the origin the page was
 * loaded from, unless `PUBLIC_URL` names another, which this policy would then refuse).
 */
const CONTENT_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CONTENT_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

export function demoPageRoutes(): [string, RouteHandler][] {
  let script: Promise<string> | undefined;
  const bundled = () => {
    script ??= bundle().catch((error: unknown) => {
      script = undefined; // the next request tries again
      throw error;
    });
    return script;
  };
  return [
    [PAGE_PATH, get('text/html', () => readFile(new URL('index.html', WEB_EXAMPLE)))],
    [STYLE_PATH, get('text/css', () => readFile(new URL('progress-page.css', WEB_EXAMPLE)))],
    [SCRIPT_PATH, get('text/javascript', bundled)],
  ];
}

/**
 * A GET route answering `read()`'s content. An installation without the page's parts (a
 * production image has neither `examples/` nor esbuild) answers 503 saying so, not a bare 500.
 */
function get(type: string, read: () => Promise<string | Buffer>): RouteHandler {
  return async (request, response) => {
    if (request.method !== 'GET') return sendJson(response, 405, { error: 'Use GET.' }, { allow: 'GET' });
    let body: string | Buffer;
    try {
      body = await read();
    } catch (error) {
      if (!isMissingPart(error)) throw error;
      return sendJson(response, 503, {
        error: 'The progress page runs from a development checkout: it needs examples/web/ and esbuild (a devDependency, npm ci).',
      });
    }
    send(response, type, body);
  };
}

function send(response: ServerResponse, type: string, body: string | Buffer): void {
  response.writeHead(200, { 'content-type': `${type}; charset=utf-8`, ...SECURITY_HEADERS });
  response.end(body);
}

/** `platform: 'browser'` makes esbuild follow packages' `browser` fields: tus-js-client's browser build (XMLHttpRequest, Blob slices), not its Node one. */
async function bundle(): Promise<string> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [fileURLToPath(new URL('progress-page.ts', WEB_EXAMPLE))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

function isMissingPart(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || (code === 'ERR_MODULE_NOT_FOUND' && error instanceof Error && error.message.includes("'esbuild'"));
}
