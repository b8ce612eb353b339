import type { BulkImport, ImportStatus } from '../domain/bulk-import.js';
import { badUserInput } from '../errors/gateway-error.js';
import type { ImportEvent, ImportRecord } from '../store/registry.js';
import type { ResolverContext } from './context.js';
import { decodeCursor, type Page, pageOf, pageSizeArg } from './pages.js';
import { clientIdArg } from './validation.js';

/**
 * The `BulkImport` fields the registry answers (createdAt … history). Every view of an import —
 * a mutation's answer, a summary, a subscription's state, a page of `imports` — reads the record
 * once, however many of these fields are asked: the lookup is kept per view object (a
 * subscription's states are new objects, so each reads the record as it is then).
 */

const lookups = new WeakMap<BulkImport, Promise<ImportRecord | undefined>>();

/**
 * The record behind `view`; undefined when there is none or the store does not answer (the
 * upstream's view is still served: queries keep working while the store is down).
 */
function recordOf(view: BulkImport, ctx: ResolverContext): Promise<ImportRecord | undefined> {
  let lookup = lookups.get(view);
  if (!lookup) {
    lookup = ctx.registry.find(view).catch(() => undefined);
    lookups.set(view, lookup);
  }
  return lookup;
}

const dateOf = (ms: number | null | undefined): Date | null => (ms === null || ms === undefined ? null : new Date(ms));

export const registryFields = {
  createdAt: async (view: BulkImport, ctx: ResolverContext) => dateOf((await recordOf(view, ctx))?.createdAt),
  createdBy: async (view: BulkImport, ctx: ResolverContext) => (await recordOf(view, ctx))?.createdBy ?? null,
  executedAt: async (view: BulkImport, ctx: ResolverContext) => dateOf((await recordOf(view, ctx))?.executedAt),
  finishedAt: async (view: BulkImport, ctx: ResolverContext) => dateOf((await recordOf(view, ctx))?.finishedAt),
  /** When the state was read: the record's time of it; now for a view the store could not record. */
  observedAt: async (view: BulkImport, ctx: ResolverContext) => dateOf((await recordOf(view, ctx))?.observedAt) ?? new Date(),
  /** Terminal and stored. */
  isFinal: async (view: BulkImport, ctx: ResolverContext) => view.isTerminal && ((await recordOf(view, ctx))?.isFinal ?? false),
};

export interface ImportEventView {
  at: Date;
  actor: string | null;
  kind: ImportEvent['kind'];
  detail: Record<string, unknown> | null;
}

/** `BulkImport.history`: oldest first, paged; empty for an import the registry has no record of. */
export async function history(view: BulkImport, args: { first?: number | null; after?: string | null }, ctx: ResolverContext): Promise<Page<ImportEventView>> {
  const size = pageSizeArg(args.first, 50);
  const afterId = decodeCursor('event', args.after);
  const record = await recordOf(view, ctx);
  if (!record) return { edges: [], pageInfo: { hasNextPage: false, endCursor: null } };
  const rows = await ctx.registry.history(record.id, { first: size + 1, afterId });
  return pageOf(
    rows,
    size,
    'event',
    (row) => row.id,
    (row) => ({ at: new Date(row.at), actor: row.actor, kind: row.kind, detail: row.detail }),
  );
}

/** A view built from `record` itself (a page of `imports`, a stored final state): its fields need no second lookup. */
export function viewOfRecord(record: ImportRecord): BulkImport {
  // Every record holds a state: it is written in the same transaction as the row.
  const view = record.lastState!;
  lookups.set(view, Promise.resolve(record));
  return view;
}

export interface ImportFilter {
  status?: ImportStatus[] | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
  nameContains?: string | null;
  createdBy?: string | null;
}

/** Longest `nameContains`/`createdBy`: names are at most 100 characters, subjects are short. */
const MAX_FILTER_LENGTH = 200;

function filterText(value: string | null | undefined, argument: string): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (value.length > MAX_FILTER_LENGTH) throw badUserInput(`${argument} must be at most ${MAX_FILTER_LENGTH} characters long.`, argument);
  return value;
}

/**
 * `imports`: the registry's imports the caller may read, newest first. Arguments are validated,
 * then the caller's access decides whose imports it sees (FORBIDDEN for a clientId it is not
 * granted), and only then is the store asked; MyPreferences is never called.
 */
export async function imports(
  args: { clientId?: string | null; filter?: ImportFilter | null; first?: number | null; after?: string | null },
  ctx: ResolverContext,
): Promise<Page<BulkImport> & { totalCount: number }> {
  const size = pageSizeArg(args.first, 20);
  const beforeId = decodeCursor('import', args.after);
  const clientId = args.clientId === null || args.clientId === undefined ? undefined : clientIdArg(args.clientId);
  const filter = args.filter ?? {};
  const nameContains = filterText(filter.nameContains, 'filter.nameContains');
  const createdBy = filterText(filter.createdBy, 'filter.createdBy');
  const readable = ctx.access.readableImports(clientId);
  const { records, totalCount } = await ctx.registry.list({
    ...readable,
    statuses: filter.status ?? undefined,
    createdAfter: filter.createdAfter?.getTime(),
    createdBefore: filter.createdBefore?.getTime(),
    nameContains,
    createdBy,
    limit: size + 1,
    beforeId,
  });
  return { ...pageOf(records, size, 'import', (record) => record.id, viewOfRecord), totalCount };
}
