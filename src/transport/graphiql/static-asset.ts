import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Compress, type ContentCoding, compressWithZlib, preferredCoding } from './content-coding.js';

/** Hex digits of the content's SHA-256 in a name: 64 bits, no collision among a few files. */
const HASH_LENGTH = 16;

/** `<stem>.<hash>.<extension>` */
const HASHED_NAME = new RegExp(`^[\\w.-]+\\.[0-9a-f]{${HASH_LENGTH}}\\.\\w+$`);

/** Whether `path` has the shape of an asset's name under `directory` (whether or not there is one). */
export function isHashedPath(path: string, directory: string): boolean {
  return path.startsWith(directory) && HASHED_NAME.test(path.slice(directory.length));
}

/** The bytes sent for one coding of an asset, and the entity tag that names them. */
interface Representation {
  body: Buffer;
  /** Absent when the asset goes out as it is: asked so, or compressing it gained nothing. */
  coding: ContentCoding | undefined;
  etag: string;
}

/**
 * A file that never changes under its name: the name carries a hash of the content, so a browser
 * may keep it for a year without asking again, and a new version is a new name. Each compressed
 * form is made once, on the first request that asks for it, and kept.
 */
export class StaticAsset {
  /** `<directory><stem>.<hash>.<extension>`, e.g. `/graphiql/graphiql.0123456789abcdef.js` */
  readonly path: string;
  readonly #hash: string;
  readonly #identity: Representation;
  readonly #compressed = new Map<ContentCoding, Promise<Representation>>();

  constructor(
    directory: string,
    fileName: string,
    readonly contentType: string,
    readonly body: Buffer,
    private readonly compress: Compress = compressWithZlib,
  ) {
    this.#hash = createHash('sha256').update(body).digest('hex').slice(0, HASH_LENGTH);
    const dot = fileName.lastIndexOf('.');
    this.path = `${directory}${fileName.slice(0, dot)}.${this.#hash}${fileName.slice(dot)}`;
    this.#identity = { body, coding: undefined, etag: `"${this.#hash}"` };
  }

  representation(coding: ContentCoding | undefined): Promise<Representation> {
    if (coding === undefined) return Promise.resolve(this.#identity);
    let compressed = this.#compressed.get(coding);
    if (!compressed) {
      compressed = this.compress(coding, this.body).then((body) =>
        body.length < this.body.length ? { body, coding, etag: `"${this.#hash}-${coding}"` } : this.#identity,
      );
      // A failure is not kept: the next request tries again.
      compressed.catch(() => this.#compressed.delete(coding));
      this.#compressed.set(coding, compressed);
    }
    return compressed;
  }
}

const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * Answers a GET or HEAD for `asset` in the coding the request prefers: `Cache-Control`
 * immutable, an ETag per coding (304 when the browser already has it), `Vary: Accept-Encoding`.
 */
export async function sendStaticAsset(asset: StaticAsset, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const { body, coding, etag } = await asset.representation(preferredCoding(request.headers['accept-encoding']));
  const headers: Record<string, string> = {
    'cache-control': IMMUTABLE,
    etag,
    vary: 'accept-encoding',
    'x-content-type-options': 'nosniff',
    // Only this origin's pages may load it.
    'cross-origin-resource-policy': 'same-origin',
  };
  if (matchesEtag(request.headers['if-none-match'], etag)) {
    response.writeHead(304, headers);
    response.end();
    return;
  }
  response.writeHead(200, {
    ...headers,
    'content-type': asset.contentType,
    'content-length': String(body.length),
    ...(coding && { 'content-encoding': coding }),
  });
  response.end(request.method === 'HEAD' ? undefined : body);
}

/** `If-None-Match`: `*` or a list of tags, weak ones compared weakly (RFC 9110 §13.1.2). */
function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  return ifNoneMatch.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || trimmed.replace(/^W\//, '') === etag;
  });
}
