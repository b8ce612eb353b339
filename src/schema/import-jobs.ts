import * as jobs from '../resolvers/import-jobs.js';
import type { Page } from '../resolvers/pages.js';
import type { ImportJobRecord, RejectedLine } from '../store/import-jobs.js';
import { builder } from './builder.js';
import { BulkImportRef, InitiateImportInputRef, PageInfoRef } from './imports.js';

/** Import jobs (issue 27): a whole file through a resumable upload, every record staged once. Resolvers live in `src/resolvers/import-jobs.ts`. */

const RecordFormatEnum = builder.enumType('RecordFormat', {
  description: "The upload's format.",
  values: {
    NDJSON: { description: 'One record object (JSON) a line.' },
    CSV: {
      description:
        'A header row of record paths (`ProfileId`, `Emails.0.EmailAddress`: a number is an array index), then one record a row; empty cells are left out, true/false are booleans, every other value a string.',
    },
  } as const,
});

const ImportJobStateEnum = builder.enumType('ImportJobState', {
  description: 'Where an import job is.',
  values: {
    CREATED: { description: 'Created; its upload has not started.' },
    STAGING: { description: 'Its upload is arriving; records are staged as they come.' },
    QUEUED: { description: "Uploaded, waiting for its clientId's earlier job to end (queuePosition)." },
    EXECUTING: { description: 'Execute was sent; the import runs (import.status, import.progress).' },
    COMPLETED: { description: 'The import completed (or, with execute: false, every record is staged). Terminal.' },
    FAILED: { description: 'The job or its import failed (error). Terminal.' },
    CANCELED: { description: 'Cancelled before Execute was sent; no Execute ever will be. Terminal.' },
  } as const,
});

const ImportJobErrorRef = builder.objectRef<{ code: string; message: string }>('ImportJobError').implement({
  description: 'Why a job failed.',
  fields: (t) => ({
    code: t.exposeString('code', { description: 'An error code of the API (STAGE_OUTCOME_UNKNOWN, BAD_USER_INPUT, IMPORT_FAILED, …).' }),
    message: t.exposeString('message', { description: 'What happened, for people.' }),
  }),
});

const RejectedLineRef = builder.objectRef<RejectedLine>('RejectedLine').implement({
  description: 'A line of the upload that was not a record: never sent upstream.',
  fields: (t) => ({
    line: t.exposeInt('line', { description: 'Its line number, from 1 (a CSV header is line 1).' }),
    reason: t.exposeString('reason', { description: 'Why it is not a record.' }),
  }),
});

const RejectedLineEdgeRef = builder.objectRef<Page<RejectedLine>['edges'][number]>('RejectedLineEdge').implement({
  description: 'A rejected line and its cursor.',
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: 'Opaque: pass it as `after` for the lines after this one.' }),
    node: t.expose('node', { type: RejectedLineRef, description: 'The line.' }),
  }),
});

const RejectedLineConnectionRef = builder.objectRef<Page<RejectedLine>>('RejectedLineConnection').implement({
  description: "A page of a job's rejected lines, in line order (the first 10,000 of a job are listed; all are counted).",
  fields: (t) => ({
    edges: t.expose('edges', { type: [RejectedLineEdgeRef], description: 'The lines of this page.' }),
    pageInfo: t.expose('pageInfo', { type: PageInfoRef, description: 'Whether more lines follow.' }),
  }),
});

const dateOf = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));

const ImportJobRef = builder.objectRef<ImportJobRecord>('ImportJob').implement({
  description: 'A whole file staged into one MyPreferences import through a resumable upload, then (execute: true) executed in its turn.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The job: the last segment of its uploadUrl.' }),
    clientId: t.exposeID('clientId', { description: 'The MyPreferences account.' }),
    state: t.expose('state', { type: ImportJobStateEnum, description: 'Where the job is.' }),
    format: t.expose('format', { type: RecordFormatEnum, description: "The upload's format." }),
    execute: t.exposeBoolean('execute', { description: 'Execute when the upload is complete (else the job ends COMPLETED once staged).' }),
    uploadUrl: t.string({
      description:
        "Absolute URL of this job's resumable upload (tus 1.0, creation-defer-length), with the same Authorization as GraphQL. HEAD answers Upload-Offset: the bytes whose records are staged.",
      resolve: (job, _args, ctx) => ctx.uploadUrlFor(job.id),
    }),
    uploadLength: t.float({ nullable: true, description: 'Bytes the upload declared, once known.', resolve: (job) => job.uploadLength }),
    bytesStaged: t.float({ description: 'The upload offset: every record before it is staged upstream.', resolve: (job) => job.bytesStaged }),
    recordsStaged: t.exposeInt('recordsStaged', { description: 'Records staged upstream, each exactly once.' }),
    recordsRejected: t.exposeInt('recordsRejected', { description: 'Lines that were not records: never sent upstream.' }),
    stageCalls: t.exposeInt('stageCalls', { description: 'Stage calls that landed.' }),
    queuePosition: t.int({
      nullable: true,
      description: 'While QUEUED: 1 = next to execute for this clientId.',
      resolve: (job, _args, ctx) => jobs.queuePosition(job, ctx),
    }),
    import: t.field({
      type: BulkImportRef,
      description: 'The MyPreferences import behind the job (initiated with it), in the last state the gateway saw.',
      resolve: (job, _args, ctx) => jobs.jobImport(job, ctx),
    }),
    createdAt: t.field({ type: 'DateTime', description: 'When the job was created.', resolve: (job) => new Date(job.createdAt) }),
    createdBy: t.exposeString('createdBy', { nullable: true, description: "The caller's subject (jwt mode) that created it." }),
    finishedAt: t.field({ type: 'DateTime', nullable: true, description: 'When it ended.', resolve: (job) => dateOf(job.finishedAt) }),
    error: t.expose('error', { type: ImportJobErrorRef, nullable: true, description: 'Set when FAILED.' }),
    rejectedLines: t.field({
      type: RejectedLineConnectionRef,
      description: 'Lines that were not records, in line order.',
      args: {
        first: t.arg.int({ defaultValue: 100, description: 'Page size, 1 to 1000.' }),
        after: t.arg.string({ description: 'A cursor of this connection: the page starts after it.' }),
      },
      resolve: (job, args, ctx) => jobs.rejectedLines(job, args, ctx),
    }),
  }),
});

builder.queryField('importJob', (t) =>
  t.field({
    type: ImportJobRef,
    description: 'An import job (read scope on its clientId).',
    args: { id: t.arg.id({ required: true, description: 'The job id.' }) },
    resolve: (_root, args, ctx) => jobs.importJob({ id: String(args.id) }, ctx),
  }),
);

builder.mutationField('createImportJob', (t) =>
  t.field({
    type: ImportJobRef,
    description:
      'Initiates an import and returns a job whose uploadUrl takes the whole file (tus 1.0). Records are staged as the bytes arrive, each exactly once; ' +
      'when the upload is complete the import is executed (execute: true), one import at a time per clientId.',
    args: {
      clientId: t.arg.id({ required: true, description: 'The MyPreferences account.' }),
      input: t.arg({ type: InitiateImportInputRef, required: true, description: "The import's settings." }),
      format: t.arg({ type: RecordFormatEnum, defaultValue: 'NDJSON', description: "The upload's format." }),
      execute: t.arg.boolean({ defaultValue: true, description: 'Execute when the upload is complete.' }),
    },
    resolve: (_root, args, ctx) => jobs.createImportJob({ ...args, clientId: String(args.clientId) }, ctx),
  }),
);

builder.mutationField('cancelImportJob', (t) =>
  t.field({
    type: ImportJobRef,
    description: 'Cancels a job until its Execute is sent (no Execute is ever sent for it); NOT_CANCELLABLE afterwards.',
    args: { id: t.arg.id({ required: true, description: 'The job id.' }) },
    resolve: (_root, args, ctx) => jobs.cancelImportJob({ id: String(args.id) }, ctx),
  }),
);

builder.subscriptionField('importJob', (t) =>
  t.field({
    type: ImportJobRef,
    description: 'The job now, then after every change (staging, queue, the import running), until it ends (sent, then the subscription completes).',
    args: { id: t.arg.id({ required: true, description: 'The job id.' }) },
    subscribe: (_root, args, ctx) => jobs.importJobEvents({ id: String(args.id) }, ctx),
    resolve: (job) => job,
  }),
);
