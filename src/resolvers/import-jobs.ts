import type { Permission } from '../auth/caller.js';
import { ForwardedCredential } from '../credentials/credential.js';
import type { UpstreamCredential } from '../credentials/upstream-credential.js';
import type { BulkImport } from '../domain/bulk-import.js';
import { GatewayError } from '../errors/gateway-error.js';
import { FINAL_JOB_STATES, type ImportJobRecord, type RecordFormat, type RejectedLine } from '../store/import-jobs.js';
import { audited } from './audit.js';
import type { ResolverContext } from './context.js';
import { initiateRecorded } from './imports.js';
import { decodeCursor, type Page, pageOf, pageSizeArg } from './pages.js';
import { viewOfRecord } from './registry.js';
import type { InitiateImportInput } from './validation.js';

/**
 * Import jobs (issue 27) as the API shows them: creating one (which initiates its import),
 * cancelling it, reading it, following it. Access is the clientId's, as for the import itself: a
 * job is read with `read` on its clientId and changed with `write`; in passthrough mode only the
 * credential that created it sees it (others get NOT_FOUND, as for a job that does not exist).
 */

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The job of `id`, if the caller may act on it with `permission`, and the credential it acts with. */
async function jobFor(id: string, permission: Permission, ctx: ResolverContext): Promise<{ job: ImportJobRecord; credential: UpstreamCredential }> {
  const notFound = () => new GatewayError('NOT_FOUND', 'No import job has this id.');
  if (!JOB_ID.test(id)) throw notFound();
  const job = await ctx.jobs.find(id).catch(() => {
    throw new GatewayError('STORE_UNAVAILABLE', 'The gateway cannot read its import jobs now: try again shortly.');
  });
  if (!job) throw notFound();
  const credential = ctx.access.credentialFor(job.clientId, permission);
  if (credential instanceof ForwardedCredential && job.credentialFingerprint !== credential.id) throw notFound();
  return { job, credential };
}

export function createImportJob(
  args: { clientId: string; input: InitiateImportInput; format?: RecordFormat | null; execute?: boolean | null },
  ctx: ResolverContext,
): Promise<ImportJobRecord> {
  return audited(ctx, 'createImportJob', args, async () => {
    const { view, recorder } = await initiateRecorded(args, ctx);
    return ctx.jobs.create({
      clientId: view.clientId,
      accessToken: view.accessToken,
      format: args.format ?? 'NDJSON',
      execute: args.execute ?? true,
      createdBy: recorder.actor,
      credentialFingerprint: recorder.fingerprint,
    });
  });
}

/** Cancels a job whose Execute has not been sent: no Execute is ever sent for it. NOT_CANCELLABLE afterwards; idempotent. */
export function cancelImportJob(args: { id: string }, ctx: ResolverContext): Promise<ImportJobRecord> {
  return audited(ctx, 'cancelImportJob', { jobId: String(args.id) }, async () => {
    const { job } = await jobFor(String(args.id), 'write', ctx);
    if (job.state === 'CANCELED') return job;
    const canceled = await ctx.jobs.cancel(job, ctx.access.subject ?? null);
    const now = (await ctx.jobs.find(job.id))!;
    if (!canceled && now.state !== 'CANCELED') {
      throw new GatewayError(
        'NOT_CANCELLABLE',
        `The job is ${now.state}: its import has been executed (or the job has ended), so it can no longer be cancelled.`,
      );
    }
    return now;
  });
}

export async function importJob(args: { id: string }, ctx: ResolverContext): Promise<ImportJobRecord> {
  return (await jobFor(String(args.id), 'read', ctx)).job;
}

/** The import behind a job, in the last state the gateway saw (the registry: no upstream call). */
export async function jobImport(job: ImportJobRecord, ctx: ResolverContext): Promise<BulkImport> {
  const record = await ctx.registry.find(job);
  if (!record?.lastState) throw new GatewayError('STORE_UNAVAILABLE', "The gateway cannot read the job's import now: try again shortly.");
  return viewOfRecord(record);
}

export function queuePosition(job: ImportJobRecord, ctx: ResolverContext): Promise<number | null> {
  return ctx.jobs.store.queuePosition(job);
}

/** `rejectedLines`: in line order, paged by line number. */
export async function rejectedLines(
  job: ImportJobRecord,
  args: { first?: number | null; after?: string | null },
  ctx: ResolverContext,
): Promise<Page<RejectedLine>> {
  const size = pageSizeArg(args.first, 100, 1000);
  const afterLine = decodeCursor('line', args.after);
  const rows = await ctx.jobs.store.rejections(job.id, { first: size + 1, afterLine });
  return pageOf(
    rows,
    size,
    'line',
    (row) => row.line,
    (row) => row,
  );
}

/**
 * The `importJob` subscription: the job now, then after every change, until it ends (sent, then
 * the subscription completes). Changes made by this process wake it at once; while the import
 * runs, the status engine's shared poller of the import does (the same one poll per interval
 * as importStatus); and a re-read every `refreshMs` sees what another replica changed.
 *
 * An async generator cannot be stopped while it awaits (its `return()` waits for the next
 * `yield`), so a subscriber who leaves while nothing changes would keep its listener and timer:
 * the iterator's `return()` first wakes the generator, which then sees it is closed and ends.
 */
export function importJobEvents(args: { id: string }, ctx: ResolverContext): AsyncIterableIterator<ImportJobRecord> {
  const waiting = { closed: false, woken: false, wake: undefined as (() => void) | undefined };
  const generator = followJob(String(args.id), ctx, waiting);
  return {
    next: () => generator.next(),
    return: (value?: unknown) => {
      waiting.closed = true;
      waiting.wake?.();
      return generator.return(value as ImportJobRecord);
    },
    throw: (error?: unknown) => generator.throw(error),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

interface Waiting {
  closed: boolean;
  woken: boolean;
  wake: (() => void) | undefined;
}

async function* followJob(id: string, ctx: ResolverContext, waiting: Waiting): AsyncGenerator<ImportJobRecord> {
  const { job: first, credential } = await jobFor(id, 'read', ctx);
  yield first;
  if (FINAL_JOB_STATES.has(first.state)) return;

  /** The import's poller saw a state since the last payload. */
  let importMoved = false;
  const signal = () => {
    waiting.woken = true;
    waiting.wake?.();
  };
  const importSignal = () => {
    importMoved = true;
    signal();
  };
  const stopListening = ctx.jobs.onChange(first.id, signal);
  const refresh = setInterval(signal, ctx.jobs.refreshMs);
  let statusEvents: AsyncIterableIterator<unknown> | undefined;
  let last = first;
  try {
    while (!waiting.closed) {
      if (!waiting.woken) await new Promise<void>((resolve) => (waiting.wake = resolve));
      waiting.woken = false;
      waiting.wake = undefined;
      if (waiting.closed) return;
      const job = await ctx.jobs.find(first.id);
      if (!job) return;
      if (job.state === 'EXECUTING' && !statusEvents) statusEvents = followImport(ctx, job, credential, importSignal);
      if (job.updatedAt !== last.updatedAt || importMoved) yield job;
      importMoved = false;
      last = job;
      if (FINAL_JOB_STATES.has(job.state)) return;
    }
  } finally {
    stopListening();
    clearInterval(refresh);
    void statusEvents?.return?.();
  }
}

/** Wakes the subscription at every state the import's shared poller sees. */
function followImport(ctx: ResolverContext, job: ImportJobRecord, credential: UpstreamCredential, wake: () => void): AsyncIterableIterator<unknown> {
  const events = ctx.statusHub.subscribe(job, credential);
  void (async () => {
    try {
      for await (const _ of events) wake();
    } catch {
      // The job's own re-reads go on; the poller's failure is the import's, reported there.
    }
  })();
  return events;
}
