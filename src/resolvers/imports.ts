import { ForwardedCredential } from '../credentials/credential.js';
import type { UpstreamCredential } from '../credentials/upstream-credential.js';
import { type BulkImport, type FailedRecordPage, toBulkImport, toFailedRecordPage } from '../domain/bulk-import.js';
import { type ImportRef, pollerKey } from '../domain/import-ref.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { UpstreamImportState, UpstreamStatus } from '../mypreferences-contract.js';
import type { Recorder, WatchOrigin } from '../store/registry.js';
import { audited } from './audit.js';
import type { ResolverContext } from './context.js';
import { viewOfRecord } from './registry.js';
import { clientIdArg, failedRecordsPageArgs, type InitiateImportInput, importRefArgs, initiateRequestOf, recordsArg } from './validation.js';

/**
 * The bulk-import operations as plain functions of `(args, ctx)`. Each validates its arguments,
 * asks the caller's access for the upstream credential (read or write permission on the
 * clientId), counts the call against the caller's rate, and makes exactly one upstream call.
 * Reads pass the caller's signal (a read nobody waits for any more is dropped); mutations write
 * an audit line.
 *
 * The registry records every import touched: mutations ask it first whether it can record
 * (STORE_UNAVAILABLE before any upstream call if not), then record the change with the state
 * answered; reads record the state they saw (an import made elsewhere joins when first read).
 */

interface ImportArgs {
  clientId: string;
  accessToken: string;
}

export async function importSummary(args: ImportArgs, ctx: ResolverContext): Promise<BulkImport> {
  const ref = importRefArgs(args);
  const credential = ctx.access.credentialFor(ref.clientId, 'read');
  ctx.spendUpstreamCall();
  let state: UpstreamImportState;
  try {
    state = await ctx.upstream.status(credential, ref, { requestId: ctx.requestId, signal: ctx.signal });
  } catch (error) {
    return storedFinalState(error, ref, credential, ctx);
  }
  const view = toBulkImport(ref.clientId, ref.accessToken, state);
  await ctx.registry.observed(ref, view, recorderOf(ctx, credential));
  return view;
}

/**
 * After an upstream 401 for the import (it forgot the token, 6-12 hours on), its final state
 * from the registry (`isFinal: true`) — only if final, and in passthrough mode only if the same
 * credential touched it. Anything else rethrows `error`: a record that is not final is never
 * served in place of an upstream answer.
 */
export async function storedFinalState(error: unknown, ref: ImportRef, credential: UpstreamCredential, ctx: ResolverContext): Promise<BulkImport> {
  if (!(error instanceof GatewayError && error.code === 'UNAUTHENTICATED' && error.details.upstreamStatus === 401)) throw error;
  const record = await ctx.registry.finalRecord(ref, recorderOf(ctx, credential).fingerprint).catch(() => undefined);
  if (!record) throw error;
  return viewOfRecord(record);
}

/** Who the registry records for a call with `credential`: the JWT subject, or the passthrough credential's fingerprint. */
function recorderOf(ctx: ResolverContext, credential: UpstreamCredential): Recorder {
  const passthrough = credential instanceof ForwardedCredential;
  return { actor: passthrough ? null : (ctx.access.subject ?? null), fingerprint: passthrough ? credential.id : null };
}

export function initiateImport(args: { clientId: string; input: InitiateImportInput }, ctx: ResolverContext): Promise<BulkImport> {
  return audited(ctx, 'initiateImport', args, async () => (await initiateRecorded(args, ctx)).view);
}

/**
 * Initiates an import and records it (INITIATED): arguments checked, write permission, the store
 * asked first, one upstream call. Shared by initiateImport and createImportJob (whose job is
 * recorded by whom the import was).
 */
export async function initiateRecorded(
  args: { clientId: string; input: InitiateImportInput },
  ctx: ResolverContext,
): Promise<{ view: BulkImport; recorder: Recorder }> {
  const clientId = clientIdArg(args.clientId);
  const request = initiateRequestOf(args.input);
  const credential = ctx.access.credentialFor(clientId, 'write');
  await ctx.registry.ensureAvailable();
  ctx.spendUpstreamCall();
  const state = await ctx.upstream.initiate(credential, clientId, request, { requestId: ctx.requestId });
  const view = toBulkImport(clientId, String(state.AccessToken), state);
  const recorder = recorderOf(ctx, credential);
  await ctx.registry.changed(view, view, recorder, { kind: 'INITIATED', name: view.name, settings: { ...args.input } });
  return { view, recorder };
}

export function stageImport(args: ImportArgs & { records: readonly Record<string, unknown>[] }, ctx: ResolverContext): Promise<BulkImport> {
  return audited(ctx, 'stageImport', args, async () => {
    const ref = importRefArgs(args);
    const records = recordsArg(args.records, ctx.limits.maxRecordsPerStage);
    const credential = ctx.access.credentialFor(ref.clientId, 'write');
    await ctx.registry.ensureAvailable();
    ctx.spendUpstreamCall();
    const state = await ctx.upstream.stage(credential, ref, records, { requestId: ctx.requestId });
    const view = toBulkImport(ref.clientId, ref.accessToken, state);
    await ctx.registry.changed(ref, view, recorderOf(ctx, credential), { kind: 'STAGED', records: records.length });
    return view;
  });
}

/**
 * Idempotent: concurrent identical calls (same import, same upstream credential) share one
 * upstream Execute, and executing an import that is already executed answers its current state
 * instead of the upstream's 400 — the caller's intent, "this import runs", holds either way.
 * Either way the status hub hears of the executed state, so subscribers see it at once.
 */
export function executeImport(args: ImportArgs, ctx: ResolverContext): Promise<BulkImport> {
  return audited(ctx, 'executeImport', args, async () => {
    const ref = importRefArgs(args);
    const credential = ctx.access.credentialFor(ref.clientId, 'write');
    await ctx.registry.ensureAvailable();
    // Counted per caller, though callers joining one Execute share it (and its fallback read).
    ctx.spendUpstreamCall();
    // One Execute per import and credential: the key a poller of the same pair has.
    const state = await ctx.executions.run(pollerKey(ref, credential.id), async () => {
      try {
        const executed = await ctx.upstream.execute(credential, ref, { requestId: ctx.requestId });
        // Subscribers see QUEUED now rather than at their poller's next interval.
        ctx.statusHub.importChanged(ref, credential, executed);
        await recordExecuted(ctx, ref, credential, executed);
        return executed;
      } catch (error) {
        if (!(error instanceof GatewayError && error.code === 'BAD_USER_INPUT' && error.details.upstreamStatus === 400)) throw error;
        const current = await ctx.upstream.status(credential, ref, { requestId: ctx.requestId });
        if (!EXECUTED_STATUSES.has(current.Status)) throw error;
        // An earlier Execute ran (its answer may have been lost on the way, so nobody was told):
        // subscribers learn of it now, as from the first call, not at their next idle poll.
        ctx.statusHub.importChanged(ref, credential, current);
        await recordExecuted(ctx, ref, credential, current);
        return current;
      }
    });
    return toBulkImport(ref.clientId, ref.accessToken, state);
  });
}

/**
 * Once per Execute (inside the single-flight): one EXECUTED event however many identical calls
 * shared it, and the import watched until it ends, subscribers or not.
 */
async function recordExecuted(ctx: ResolverContext, ref: ImportRef, credential: UpstreamCredential, state: UpstreamImportState): Promise<void> {
  const view = toBulkImport(ref.clientId, ref.accessToken, state);
  const recorder = recorderOf(ctx, credential);
  await ctx.registry.changed(ref, view, recorder, { kind: 'EXECUTED' });
  await watchUntilFinal(ctx, ref, credential, state, recorder, 'EXECUTED');
}

/** Watches a non-terminal import with the credential it was read with (in memory only), and puts it on the store's watch list. */
function watchUntilFinal(
  ctx: ResolverContext,
  ref: ImportRef,
  credential: UpstreamCredential,
  state: UpstreamImportState,
  recorder: Recorder,
  origin: WatchOrigin,
): Promise<void> {
  const view = toBulkImport(ref.clientId, ref.accessToken, state);
  if (view.isTerminal) return Promise.resolve();
  return ctx.watcher.watch(ref, credential, { origin, watchedBy: recorder.actor, endsAt: view.expires?.getTime() ?? null }, state);
}

/**
 * Asks the gateway to watch an import until it is terminal or its token expires, subscribers or
 * not: its record, history and final state stay true. One upstream read (its state, returned),
 * recorded; an import already terminal is not watched. Idempotent.
 */
export function watchImport(args: ImportArgs, ctx: ResolverContext): Promise<BulkImport> {
  return audited(ctx, 'watchImport', args, async () => {
    const ref = importRefArgs(args);
    const credential = ctx.access.credentialFor(ref.clientId, 'read');
    await ctx.registry.ensureAvailable();
    ctx.spendUpstreamCall();
    let state: UpstreamImportState;
    try {
      state = await ctx.upstream.status(credential, ref, { requestId: ctx.requestId });
    } catch (error) {
      return storedFinalState(error, ref, credential, ctx);
    }
    const view = toBulkImport(ref.clientId, ref.accessToken, state);
    const recorder = recorderOf(ctx, credential);
    await ctx.registry.observed(ref, view, recorder);
    await watchUntilFinal(ctx, ref, credential, state, recorder, 'WATCH_IMPORT');
    return view;
  });
}

const EXECUTED_STATUSES: ReadonlySet<UpstreamStatus> = new Set(['Queued', 'Processing', 'Completed', 'Failed']);

export async function failedRecords(
  parent: Pick<BulkImport, 'clientId' | 'accessToken'>,
  args: { limit?: number | null; offset?: number | null },
  ctx: ResolverContext,
): Promise<FailedRecordPage> {
  const page = failedRecordsPageArgs(args);
  const budget = ctx.responseBudget;
  const credential = ctx.access.credentialFor(parent.clientId, 'read');
  ctx.spendUpstreamCall();
  const result = await ctx.upstream.exceptions(credential, parent, page, {
    requestId: ctx.requestId,
    signal: ctx.signal,
    ...(budget && { body: { maxBytes: budget.remaining, onRead: (bytes) => budget.charge(bytes) } }),
  });
  return toFailedRecordPage(result);
}
