import type { BulkImport, FailedRecord, FailedRecordPage, ImportSettings } from '../domain/bulk-import.js';
import { importStatusEvents, importStatusPayload } from '../resolvers/import-status.js';
import * as resolvers from '../resolvers/imports.js';
import type { Page } from '../resolvers/pages.js';
import { history, type ImportEventView, imports, registryFields } from '../resolvers/registry.js';
import { builder } from './builder.js';

/** The bulk-import domain: its types and its query and mutation fields. Resolvers live in `src/resolvers/`. */

const ImportStatusEnum = builder.enumType('ImportStatus', {
  description: 'Where an import is in its lifecycle.',
  values: {
    INITIATED: { description: 'Created by initiateImport; nothing staged yet.' },
    STAGING: { description: 'Records are being staged; more stageImport calls are allowed.' },
    QUEUED: { description: 'Executed and waiting for MyPreferences to start processing.' },
    PROCESSING: { description: 'MyPreferences is importing the validated records.' },
    COMPLETED: { description: 'Finished: every validated record was processed. Terminal.' },
    FAILED: { description: 'The import failed and nothing was imported. Terminal.' },
  } as const,
});

const ImportActionEnum = builder.enumType('ImportAction', {
  description: 'Whether the import adds or deletes profiles.',
  values: {
    ADD: { description: 'Add or update profiles (the default).' },
    DELETE: { description: 'Delete profiles.' },
  } as const,
});

const MatchCriteriaEnum = builder.enumType('MatchCriteria', {
  description: 'How records are matched to profiles when they carry no profile id.',
  values: {
    ALTERNATE_ID_TYPE: { description: 'Match on an alternate id of the type named by matchValue.' },
  } as const,
});

const ImportPhaseEnum = builder.enumType('ImportPhase', {
  description: 'When a record failed.',
  values: {
    STAGING: { description: 'The record failed validation while staging and was never imported.' },
    EXECUTION: { description: 'The record hit an exception while the import was executing.' },
  } as const,
});

const ImportSettingsRef = builder.objectRef<ImportSettings>('ImportSettings').implement({
  description: 'The settings an import was initiated with.',
  fields: (t) => ({
    dataStageDuration: t.exposeInt('dataStageDuration', { description: 'Days staged data is kept before it is deleted (0–10).' }),
    importAction: t.expose('importAction', { type: ImportActionEnum, description: 'Whether profiles are added or deleted.' }),
    matchCriteria: t.expose('matchCriteria', {
      type: MatchCriteriaEnum,
      nullable: true,
      description: 'How records without a profile id are matched, if at all.',
    }),
    matchValue: t.exposeString('matchValue', { nullable: true, description: 'The alternate id type name used with matchCriteria.' }),
    refreshAlternateIds: t.exposeBoolean('refreshAlternateIds', { description: 'Existing alternate ids not in the import are deactivated.' }),
    refreshContacts: t.exposeBoolean('refreshContacts', {
      description: 'Existing contact elements not in the import are deactivated, with their preferences.',
    }),
    refreshCustomFields: t.exposeBoolean('refreshCustomFields', { description: 'Existing custom fields not in the import are deleted.' }),
    refreshGroups: t.exposeBoolean('refreshGroups', { description: 'Existing groups not in the import are deactivated.' }),
    refreshTags: t.exposeBoolean('refreshTags', { description: 'Existing tags not in the import are deleted.' }),
    allowPriorConsents: t.exposeBoolean('allowPriorConsents', { description: 'Older versions of a consent may be added when no newer one exists.' }),
  }),
});

const FailedRecordRef = builder.objectRef<FailedRecord>('FailedRecord').implement({
  description: 'A record that failed validation or hit an exception during execution.',
  fields: (t) => ({
    phase: t.expose('phase', { type: ImportPhaseEnum, description: 'When the record failed.' }),
    message: t.exposeString('message', { nullable: true, description: "Why it failed, in MyPreferences' words." }),
    profileId: t.exposeString('profileId', { nullable: true, description: "The record's profile id, when it had one." }),
    record: t.expose('record', { type: 'JSONObject', nullable: true, description: 'The record as it was staged.' }),
  }),
});

const FailedRecordPageRef = builder.objectRef<FailedRecordPage>('FailedRecordPage').implement({
  description: "One page of an import's failed records.",
  fields: (t) => ({
    count: t.exposeInt('count', { description: 'Records on this page.' }),
    hasMore: t.exposeBoolean('hasMore', { description: 'True when more records follow this page.' }),
    limit: t.exposeInt('limit', { description: 'Page size that was applied.' }),
    offset: t.exposeInt('offset', { description: '1-based position of the first record of this page.' }),
    totalResults: t.exposeInt('totalResults', { description: 'Failed records over all pages.' }),
    records: t.expose('records', { type: [FailedRecordRef], description: 'The failed records of this page.' }),
  }),
});

const PageInfoRef = builder.objectRef<Page<unknown>['pageInfo']>('PageInfo').implement({
  description: 'Where a page of a connection ends, and whether more follow.',
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage', { description: 'True when another page follows this one.' }),
    endCursor: t.exposeString('endCursor', {
      nullable: true,
      description: "The last edge's cursor: pass it as `after` for the next page (null for an empty page).",
    }),
  }),
});

const ImportEventKindEnum = builder.enumType('ImportEventKind', {
  description: 'What happened to an import, in its history.',
  values: {
    INITIATED: { description: 'Initiated through the gateway (detail.name).' },
    STAGED: { description: 'Records staged through the gateway (detail.records: how many in that call).' },
    EXECUTED: { description: 'Executed through the gateway.' },
    STATUS_CHANGED: { description: 'The gateway saw the status change (detail.from, detail.to).' },
    JOB_CREATED: { description: 'An import job was created for it.' },
    JOB_FAILED: { description: 'Its import job failed.' },
    JOB_CANCELED: { description: 'Its import job was cancelled.' },
    WEBHOOK_DELIVERED: { description: 'A webhook about it was delivered.' },
    WEBHOOK_FAILED: { description: 'A webhook about it could not be delivered.' },
  } as const,
});

const ImportEventRef = builder.objectRef<ImportEventView>('ImportEvent').implement({
  description: "One entry of an import's history.",
  fields: (t) => ({
    at: t.expose('at', { type: 'DateTime', description: 'When it happened (as the gateway saw it).' }),
    actor: t.exposeString('actor', {
      nullable: true,
      description: "Who did it: the caller's subject (jwt mode); null for what the gateway saw by itself, and in passthrough mode.",
    }),
    kind: t.expose('kind', { type: ImportEventKindEnum, description: 'What happened.' }),
    detail: t.expose('detail', { type: 'JSONObject', nullable: true, description: 'What the kind says it carries.' }),
  }),
});

const ImportEventEdgeRef = builder.objectRef<Page<ImportEventView>['edges'][number]>('ImportEventEdge').implement({
  description: 'An event and its cursor.',
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: 'Opaque: pass it as `after` to read the events after this one.' }),
    node: t.expose('node', { type: ImportEventRef, description: 'The event.' }),
  }),
});

const ImportEventConnectionRef = builder.objectRef<Page<ImportEventView>>('ImportEventConnection').implement({
  description: "A page of an import's history, oldest first.",
  fields: (t) => ({
    edges: t.expose('edges', { type: [ImportEventEdgeRef], description: 'The events of this page.' }),
    pageInfo: t.expose('pageInfo', { type: PageInfoRef, description: 'Whether more events follow.' }),
  }),
});

const BulkImportRef = builder.objectRef<BulkImport>('BulkImport').implement({
  description: 'A MyPreferences bulk import, identified by its clientId and accessToken.',
  fields: (t) => ({
    clientId: t.exposeID('clientId', { description: 'The MyPreferences account the import belongs to.' }),
    accessToken: t.exposeID('accessToken', {
      description: 'The import handle returned by initiateImport (a positive integer). It identifies the import; it is not a credential.',
    }),
    name: t.exposeString('name', { description: 'The name given at initiation.' }),
    status: t.expose('status', { type: ImportStatusEnum, description: 'Where the import is in its lifecycle.' }),
    isTerminal: t.exposeBoolean('isTerminal', { description: 'True when status is COMPLETED or FAILED: nothing will change any more.' }),
    expires: t.expose('expires', { type: 'DateTime', nullable: true, description: 'When the access token expires.' }),
    totalRecordsReceived: t.exposeInt('totalRecordsReceived', { description: 'Records staged so far, over all stageImport calls.' }),
    validationSuccessful: t.exposeInt('validationSuccessful', { description: 'Staged records that passed validation and will be imported on execute.' }),
    validationFailed: t.exposeInt('validationFailed', { description: 'Staged records that failed validation; they are never imported.' }),
    processed: t.exposeInt('processed', { description: 'Records imported. 0 until the import is executed.' }),
    pending: t.exposeInt('pending', { description: 'Records waiting to be processed.' }),
    exceptions: t.exposeInt('exceptions', { description: 'Records that hit an exception during execution. 0 until executed.' }),
    notHonored: t.exposeInt('notHonored', { description: 'Records the system did not honour. 0 until executed.' }),
    progress: t.exposeFloat('progress', {
      description:
        'From 0 to 1: 0 before execute; (processed + exceptions + notHonored) / validationSuccessful while QUEUED or PROCESSING; 1 when COMPLETED; the last known value when FAILED.',
    }),
    settings: t.expose('settings', { type: ImportSettingsRef, description: 'The settings the import was initiated with.' }),
    createdAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When it was initiated through the gateway (null: made elsewhere, first seen later).',
      resolve: (view, _args, ctx) => registryFields.createdAt(view, ctx),
    }),
    createdBy: t.string({
      nullable: true,
      description: "The caller's subject (jwt mode) that initiated it through the gateway.",
      resolve: (view, _args, ctx) => registryFields.createdBy(view, ctx),
    }),
    executedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When it was executed through the gateway.',
      resolve: (view, _args, ctx) => registryFields.executedAt(view, ctx),
    }),
    finishedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the gateway saw it become COMPLETED or FAILED.',
      resolve: (view, _args, ctx) => registryFields.finishedAt(view, ctx),
    }),
    observedAt: t.field({
      type: 'DateTime',
      description: 'When this state was read from MyPreferences.',
      resolve: (view, _args, ctx) => registryFields.observedAt(view, ctx),
    }),
    isFinal: t.boolean({
      description: "Terminal and stored: served from the gateway's store once MyPreferences forgets the token.",
      resolve: (view, _args, ctx) => registryFields.isFinal(view, ctx),
    }),
    history: t.field({
      type: ImportEventConnectionRef,
      description: 'The audit trail: who initiated, staged and executed it, and each status the gateway saw, oldest first.',
      args: {
        first: t.arg.int({ defaultValue: 50, description: 'Page size, 1 to 100.' }),
        after: t.arg.string({ description: 'A cursor of this connection: the page starts after it.' }),
      },
      resolve: (view, args, ctx) => history(view, args, ctx),
    }),
    failedRecords: t.field({
      type: FailedRecordPageRef,
      description: 'Records that failed validation while staging, then those that hit an exception during execution, one page at a time.',
      args: {
        limit: t.arg.int({ defaultValue: 100, description: 'Page size, 1 to 1000.' }),
        offset: t.arg.int({ defaultValue: 1, description: '1-based position of the first record to return.' }),
      },
      resolve: (parent, args, ctx) => resolvers.failedRecords(parent, args, ctx),
    }),
  }),
});

/**
 * In the supergraph, other subgraphs reference an import by its key and get its fields from here,
 * read upstream with the caller's forwarded credential (errors coded as everywhere else).
 */
builder.asEntity(BulkImportRef, {
  key: builder.selection<{ clientId: string; accessToken: string }>('clientId accessToken'),
  resolveReference: (reference, ctx) => resolvers.importSummary(reference, ctx),
});

const InitiateImportInputRef = builder.inputType('InitiateImportInput', {
  description: 'Settings of a new import. Only name is required.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'A name for the import, 1 to 100 characters.' }),
    dataStageDuration: t.int({ description: 'Days staged data is kept, 0 to 10. Default 3.' }),
    importAction: t.field({ type: ImportActionEnum, description: 'Add or delete profiles. Default ADD.' }),
    matchCriteria: t.field({ type: MatchCriteriaEnum, description: 'Match records to profiles by alternate id instead of profile id.' }),
    matchValue: t.string({ description: 'The alternate id type name; required when matchCriteria is set.' }),
    refreshAlternateIds: t.boolean({ description: 'Deactivate existing alternate ids not in the import. Default false.' }),
    refreshContacts: t.boolean({ description: 'Deactivate existing contact elements not in the import. Default false.' }),
    refreshCustomFields: t.boolean({ description: 'Delete existing custom fields not in the import. Default false.' }),
    refreshGroups: t.boolean({ description: 'Deactivate existing groups not in the import. Default false.' }),
    refreshTags: t.boolean({ description: 'Delete existing tags not in the import. Default false.' }),
    allowPriorConsents: t.boolean({ description: 'Allow adding older versions of consents. Default false.' }),
  }),
});

/** The two arguments that name an import. */
const importRefArgs = builder.args((t) => ({
  clientId: t.id({ required: true, description: 'The MyPreferences account id.' }),
  accessToken: t.id({ required: true, description: 'The import handle returned by initiateImport (a positive integer).' }),
}));

builder.queryField('importSummary', (t) =>
  t.field({
    type: BulkImportRef,
    description: 'The current state of an import, read from MyPreferences.',
    args: importRefArgs,
    resolve: (_root, args, ctx) => resolvers.importSummary(args, ctx),
  }),
);

builder.mutationField('initiateImport', (t) =>
  t.field({
    type: BulkImportRef,
    description: 'Creates an import and returns it with its accessToken, in status INITIATED.',
    args: {
      clientId: t.arg.id({ required: true, description: 'The MyPreferences account id.' }),
      input: t.arg({ type: InitiateImportInputRef, required: true, description: "The import's settings." }),
    },
    resolve: (_root, args, ctx) => resolvers.initiateImport(args, ctx),
  }),
);

builder.mutationField('stageImport', (t) =>
  t.field({
    type: BulkImportRef,
    description: 'Adds records to an INITIATED or STAGING import; call it as many times as needed. Counters are cumulative.',
    args: {
      ...importRefArgs,
      records: t.arg({ type: ['JSONObject'], required: true, description: 'The records (profiles with their preferences and consents), at least one.' }),
    },
    resolve: (_root, args, ctx) => resolvers.stageImport(args, ctx),
  }),
);

builder.mutationField('executeImport', (t) =>
  t.field({
    type: BulkImportRef,
    description: 'Starts importing the validated records. Allowed once; the import becomes QUEUED, then PROCESSING, then COMPLETED or FAILED.',
    args: importRefArgs,
    resolve: (_root, args, ctx) => resolvers.executeImport(args, ctx),
  }),
);

builder.mutationField('watchImport', (t) =>
  t.field({
    type: BulkImportRef,
    description:
      'Watches the import until it is COMPLETED or FAILED or its token expires, whether anyone subscribes or not, so that its registry record, ' +
      'history and final state stay true (imports executed through the gateway are watched already). Returns its current state; ' +
      'an import already terminal is not watched. Idempotent.',
    args: importRefArgs,
    resolve: (_root, args, ctx) => resolvers.watchImport(args, ctx),
  }),
);

builder.subscriptionType({ description: 'Watch bulk imports change.' });

builder.subscriptionField('importStatus', (t) =>
  t.field({
    type: BulkImportRef,
    description:
      "The import's state: first its current state, then every change, until COMPLETED or FAILED (sent, then the subscription completes). " +
      'The gateway polls MyPreferences once per interval however many subscribers there are. Upstream 401/403/404 end the subscription with that error; ' +
      'transient failures are retried with backoff, and end it with UPSTREAM_UNAVAILABLE only after a configured time.',
    args: importRefArgs,
    subscribe: (_root, args, ctx) => importStatusEvents(args, ctx),
    resolve: (event, args, ctx) => importStatusPayload(event, args, ctx),
  }),
);

const ImportEdgeRef = builder.objectRef<Page<BulkImport>['edges'][number]>('ImportEdge').implement({
  description: 'An import and its cursor.',
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: 'Opaque: pass it as `after` to read the imports after (older than) this one.' }),
    node: t.expose('node', { type: BulkImportRef, description: 'The import, in the last state the gateway saw.' }),
  }),
});

const ImportConnectionRef = builder.objectRef<Page<BulkImport> & { totalCount: number }>('ImportConnection').implement({
  description: 'A page of the imports the gateway knows, newest first.',
  fields: (t) => ({
    edges: t.expose('edges', { type: [ImportEdgeRef], description: 'The imports of this page.' }),
    pageInfo: t.expose('pageInfo', { type: PageInfoRef, description: 'Whether more imports follow.' }),
    totalCount: t.exposeInt('totalCount', { description: 'Imports matching the arguments, over all pages (only those the caller may read).' }),
  }),
});

const ImportFilterRef = builder.inputType('ImportFilter', {
  description: 'Which imports to list; every condition given must hold.',
  fields: (t) => ({
    status: t.field({ type: [ImportStatusEnum], description: 'The last status the gateway saw is one of these.' }),
    createdAfter: t.field({ type: 'DateTime', description: 'Initiated through the gateway after this time.' }),
    createdBefore: t.field({ type: 'DateTime', description: 'Initiated through the gateway before this time.' }),
    nameContains: t.string({ description: 'The name contains this text, case-insensitively.' }),
    createdBy: t.string({ description: "Initiated by this caller's subject (jwt mode)." }),
  }),
});

builder.queryField('imports', (t) =>
  t.field({
    type: ImportConnectionRef,
    description:
      'The imports the gateway initiated, staged, executed or read, newest first, from its own registry (MyPreferences is not called). ' +
      'jwt mode: imports of the clientIds the token grants (clientId omitted: all of them); passthrough mode: imports touched with the same credential.',
    args: {
      clientId: t.arg.id({ description: 'Only this account (it must be granted).' }),
      filter: t.arg({ type: ImportFilterRef, description: 'Conditions on the imports.' }),
      first: t.arg.int({ defaultValue: 20, description: 'Page size, 1 to 100.' }),
      after: t.arg.string({ description: 'A cursor of this connection: the page starts after it.' }),
    },
    resolve: (_root, args, ctx) =>
      imports({ ...args, clientId: args.clientId === null || args.clientId === undefined ? args.clientId : String(args.clientId) }, ctx),
  }),
);

/** Shared with the import jobs' types (`./import-jobs.ts`). */
export { BulkImportRef, InitiateImportInputRef, PageInfoRef };
