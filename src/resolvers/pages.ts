import { badUserInput } from '../errors/gateway-error.js';

/**
 * Connections (Relay-style pages) of the registry, the jobs and the webhooks: one way to take
 * `first`, to make and read cursors, and to build a page.
 */

export interface Page<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** What a cursor points into: an import's cursor is not an event's, a line's or a delivery's. */
export type CursorKind = 'import' | 'event' | 'line' | 'delivery';

/** `first` as a connection takes it: 1 to `max` (100 unless the connection says otherwise). */
export function pageSizeArg(first: number | null | undefined, fallback: number, max = 100): number {
  const size = first ?? fallback;
  if (!Number.isInteger(size) || size < 1 || size > max) throw badUserInput(`first must be 1 to ${max}.`, 'first');
  return size;
}

/**
 * Cursors are opaque: a row's key (an id, a line number), kind-tagged and encoded. Keys are
 * never reused and only grow, so a cursor stays exact while rows are added.
 */
function encodeCursor(kind: CursorKind, key: number): string {
  return Buffer.from(`${kind}:${key}`).toString('base64url');
}

/** The key an `after` cursor of `kind` holds; BAD_USER_INPUT for anything else. */
export function decodeCursor(kind: CursorKind, after: string | null | undefined): number | undefined {
  if (after === null || after === undefined) return undefined;
  const match = new RegExp(`^${kind}:([1-9]\\d{0,15})$`).exec(Buffer.from(after, 'base64url').toString());
  if (!match) throw badUserInput('after is not a cursor of this connection.', 'after');
  return Number(match[1]);
}

/** Builds a page from up to `size + 1` rows (the extra one only says that more follow). */
export function pageOf<R, T>(rows: readonly R[], size: number, kind: CursorKind, key: (row: R) => number, node: (row: R) => T): Page<T> {
  const edges = rows.slice(0, size).map((row) => ({ cursor: encodeCursor(kind, key(row)), node: node(row) }));
  return { edges, pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null } };
}
