/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
/** Whether the import adds or deletes profiles. */
export type ImportAction =
  /** Add or update profiles (the default). */
  | 'ADD'
  /** Delete profiles. */
  | 'DELETE';

/** What happened to an import, in its history. */
export type ImportEventKind =
  /** Executed through the gateway. */
  | 'EXECUTED'
  /** Initiated through the gateway (detail.name). */
  | 'INITIATED'
  /** Its import job was cancelled. */
  | 'JOB_CANCELED'
  /** An import job was created for it. */
  | 'JOB_CREATED'
  /** Its import job failed. */
  | 'JOB_FAILED'
  /** Records staged through the gateway (detail.records: how many in that call). */
  | 'STAGED'
  /** The gateway saw the status change (detail.from, detail.to). */
  | 'STATUS_CHANGED'
  /** A webhook about it was delivered. */
  | 'WEBHOOK_DELIVERED'
  /** A webhook about it could not be delivered. */
  | 'WEBHOOK_FAILED';

/** Which imports to list; every condition given must hold. */
export type ImportFilter = {
  /** Initiated through the gateway after this time. */
  createdAfter?: string | null | undefined;
  /** Initiated through the gateway before this time. */
  createdBefore?: string | null | undefined;
  /** Initiated by this caller's subject (jwt mode). */
  createdBy?: string | null | undefined;
  /** The name contains this text, case-insensitively. */
  nameContains?: string | null | undefined;
  /** The last status the gateway saw is one of these. */
  status?: Array<ImportStatus> | null | undefined;
};

/** When a record failed. */
export type ImportPhase =
  /** The record hit an exception while the import was executing. */
  | 'EXECUTION'
  /** The record failed validation while staging and was never imported. */
  | 'STAGING';

/** Where an import is in its lifecycle. */
export type ImportStatus =
  /** Finished: every validated record was processed. Terminal. */
  | 'COMPLETED'
  /** The import failed and nothing was imported. Terminal. */
  | 'FAILED'
  /** Created by initiateImport; nothing staged yet. */
  | 'INITIATED'
  /** MyPreferences is importing the validated records. */
  | 'PROCESSING'
  /** Executed and waiting for MyPreferences to start processing. */
  | 'QUEUED'
  /** Records are being staged; more stageImport calls are allowed. */
  | 'STAGING';

/** Settings of a new import. Only name is required. */
export type InitiateImportInput = {
  /** Allow adding older versions of consents. Default false. */
  allowPriorConsents?: boolean | null | undefined;
  /** Days staged data is kept, 0 to 10. Default 3. */
  dataStageDuration?: number | null | undefined;
  /** Add or delete profiles. Default ADD. */
  importAction?: ImportAction | null | undefined;
  /** Match records to profiles by alternate id instead of profile id. */
  matchCriteria?: MatchCriteria | null | undefined;
  /** The alternate id type name; required when matchCriteria is set. */
  matchValue?: string | null | undefined;
  /** A name for the import, 1 to 100 characters. */
  name: string;
  /** Deactivate existing alternate ids not in the import. Default false. */
  refreshAlternateIds?: boolean | null | undefined;
  /** Deactivate existing contact elements not in the import. Default false. */
  refreshContacts?: boolean | null | undefined;
  /** Delete existing custom fields not in the import. Default false. */
  refreshCustomFields?: boolean | null | undefined;
  /** Deactivate existing groups not in the import. Default false. */
  refreshGroups?: boolean | null | undefined;
  /** Delete existing tags not in the import. Default false. */
  refreshTags?: boolean | null | undefined;
};

/** How records are matched to profiles when they carry no profile id. */
export type MatchCriteria =
  /** Match on an alternate id of the type named by matchValue. */
  | 'ALTERNATE_ID_TYPE';

export type ImportCountersFragment = { clientId: string, accessToken: string, name: string, status: ImportStatus, isTerminal: boolean, expires: string | null, totalRecordsReceived: number, validationSuccessful: number, validationFailed: number, processed: number, pending: number, exceptions: number, notHonored: number, progress: number };

export type InitiateImportMutationVariables = Exact<{
  clientId: string | number;
  input: InitiateImportInput;
}>;


export type InitiateImportMutation = { initiateImport: { clientId: string, accessToken: string, name: string, status: ImportStatus, isTerminal: boolean, expires: string | null, totalRecordsReceived: number, validationSuccessful: number, validationFailed: number, processed: number, pending: number, exceptions: number, notHonored: number, progress: number, settings: { dataStageDuration: number, importAction: ImportAction, matchCriteria: MatchCriteria | null, matchValue: string | null, refreshAlternateIds: boolean, refreshContacts: boolean, refreshCustomFields: boolean, refreshGroups: boolean, refreshTags: boolean, allowPriorConsents: boolean } } };

export type StageImportMutationVariables = Exact<{
  clientId: string | number;
  accessToken: string | number;
  records: Array<Record<string, unknown>> | Record<string, unknown>;
}>;


export type StageImportMutation = { stageImport: { clientId: string, accessToken: string, name: string, status: ImportStatus, isTerminal: boolean, expires: string | null, totalRecordsReceived: number, validationSuccessful: number, validationFailed: number, processed: number, pending: number, exceptions: number, notHonored: number, progress: number } };

export type ExecuteImportMutationVariables = Exact<{
  clientId: string | number;
  accessToken: string | number;
}>;


export type ExecuteImportMutation = { executeImport: { clientId: string, accessToken: string, name: string, status: ImportStatus, isTerminal: boolean, expires: string | null, totalRecordsReceived: number, validationSuccessful: number, validationFailed: number, processed: number, pending: number, exceptions: number, notHonored: number, progress: number } };

export type ImportSummaryQueryVariables = Exact<{
  clientId: string | number;
  accessToken: string | number;
}>;


export type ImportSummaryQuery = { importSummary: { clientId: string, accessToken: string, name: string, status: ImportStatus, isTerminal: boolean, expires: string | null, totalRecordsReceived: number, validationSuccessful: number, validationFailed: number, processed: number, pending: number, exceptions: number, notHonored: number, progress: number } };

export type FailedRecordsQueryVariables = Exact<{
  clientId: string | number;
  accessToken: string | number;
  limit?: number | null | undefined;
  offset?: number | null | undefined;
}>;


export type FailedRecordsQuery = { importSummary: { status: ImportStatus, failedRecords: { count: number, hasMore: boolean, limit: number, offset: number, totalResults: number, records: Array<{ phase: ImportPhase, message: string | null, profileId: string | null, record: Record<string, unknown> | null }> } } };

export type ImportStatusSubscriptionVariables = Exact<{
  clientId: string | number;
  accessToken: string | number;
}>;


export type ImportStatusSubscription = { importStatus: { clientId: string, accessToken: string, name: string, status: ImportStatus, isTerminal: boolean, expires: string | null, totalRecordsReceived: number, validationSuccessful: number, validationFailed: number, processed: number, pending: number, exceptions: number, notHonored: number, progress: number } };

export type WatchImportMutationVariables = Exact<{
  clientId: string | number;
  accessToken: string | number;
}>;


export type WatchImportMutation = { watchImport: { clientId: string, accessToken: string, name: string, status: ImportStatus, isTerminal: boolean, expires: string | null, totalRecordsReceived: number, validationSuccessful: number, validationFailed: number, processed: number, pending: number, exceptions: number, notHonored: number, progress: number } };

export type ImportsQueryVariables = Exact<{
  clientId?: string | number | null | undefined;
  filter?: ImportFilter | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type ImportsQuery = { imports: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ cursor: string, node: { createdAt: string | null, createdBy: string | null, executedAt: string | null, finishedAt: string | null, observedAt: string, isFinal: boolean, clientId: string, accessToken: string, name: string, status: ImportStatus, isTerminal: boolean, expires: string | null, totalRecordsReceived: number, validationSuccessful: number, validationFailed: number, processed: number, pending: number, exceptions: number, notHonored: number, progress: number } }> } };

export type ImportHistoryQueryVariables = Exact<{
  clientId: string | number;
  accessToken: string | number;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type ImportHistoryQuery = { importSummary: { clientId: string, accessToken: string, history: { pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ cursor: string, node: { at: string, actor: string | null, kind: ImportEventKind, detail: Record<string, unknown> | null } }> } } };

export const ImportCountersFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ImportCounters"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"BulkImport"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"clientId"}},{"kind":"Field","name":{"kind":"Name","value":"accessToken"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"isTerminal"}},{"kind":"Field","name":{"kind":"Name","value":"expires"}},{"kind":"Field","name":{"kind":"Name","value":"totalRecordsReceived"}},{"kind":"Field","name":{"kind":"Name","value":"validationSuccessful"}},{"kind":"Field","name":{"kind":"Name","value":"validationFailed"}},{"kind":"Field","name":{"kind":"Name","value":"processed"}},{"kind":"Field","name":{"kind":"Name","value":"pending"}},{"kind":"Field","name":{"kind":"Name","value":"exceptions"}},{"kind":"Field","name":{"kind":"Name","value":"notHonored"}},{"kind":"Field","name":{"kind":"Name","value":"progress"}}]}}]} as unknown as DocumentNode<ImportCountersFragment, unknown>;
export const InitiateImportDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"InitiateImport"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"clientId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"InitiateImportInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"initiateImport"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"clientId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"clientId"}}},{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ImportCounters"}},{"kind":"Field","name":{"kind":"Name","value":"settings"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"dataStageDuration"}},{"kind":"Field","name":{"kind":"Name","value":"importAction"}},{"kind":"Field","name":{"kind":"Name","value":"matchCriteria"}},{"kind":"Field","name":{"kind":"Name","value":"matchValue"}},{"kind":"Field","name":{"kind":"Name","value":"refreshAlternateIds"}},{"kind":"Field","name":{"kind":"Name","value":"refreshContacts"}},{"kind":"Field","name":{"kind":"Name","value":"refreshCustomFields"}},{"kind":"Field","name":{"kind":"Name","value":"refreshGroups"}},{"kind":"Field","name":{"kind":"Name","value":"refreshTags"}},{"kind":"Field","name":{"kind":"Name","value":"allowPriorConsents"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ImportCounters"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"BulkImport"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"clientId"}},{"kind":"Field","name":{"kind":"Name","value":"accessToken"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"isTerminal"}},{"kind":"Field","name":{"kind":"Name","value":"expires"}},{"kind":"Field","name":{"kind":"Name","value":"totalRecordsReceived"}},{"kind":"Field","name":{"kind":"Name","value":"validationSuccessful"}},{"kind":"Field","name":{"kind":"Name","value":"validationFailed"}},{"kind":"Field","name":{"kind":"Name","value":"processed"}},{"kind":"Field","name":{"kind":"Name","value":"pending"}},{"kind":"Field","name":{"kind":"Name","value":"exceptions"}},{"kind":"Field","name":{"kind":"Name","value":"notHonored"}},{"kind":"Field","name":{"kind":"Name","value":"progress"}}]}}]} as unknown as DocumentNode<InitiateImportMutation, InitiateImportMutationVariables>;
export const StageImportDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"StageImport"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"clientId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"accessToken"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"records"}},"type":{"kind":"NonNullType","type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"JSONObject"}}}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"stageImport"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"clientId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"clientId"}}},{"kind":"Argument","name":{"kind":"Name","value":"accessToken"},"value":{"kind":"Variable","name":{"kind":"Name","value":"accessToken"}}},{"kind":"Argument","name":{"kind":"Name","value":"records"},"value":{"kind":"Variable","name":{"kind":"Name","value":"records"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ImportCounters"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ImportCounters"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"BulkImport"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"clientId"}},{"kind":"Field","name":{"kind":"Name","value":"accessToken"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"isTerminal"}},{"kind":"Field","name":{"kind":"Name","value":"expires"}},{"kind":"Field","name":{"kind":"Name","value":"totalRecordsReceived"}},{"kind":"Field","name":{"kind":"Name","value":"validationSuccessful"}},{"kind":"Field","name":{"kind":"Name","value":"validationFailed"}},{"kind":"Field","name":{"kind":"Name","value":"processed"}},{"kind":"Field","name":{"kind":"Name","value":"pending"}},{"kind":"Field","name":{"kind":"Name","value":"exceptions"}},{"kind":"Field","name":{"kind":"Name","value":"notHonored"}},{"kind":"Field","name":{"kind":"Name","value":"progress"}}]}}]} as unknown as DocumentNode<StageImportMutation, StageImportMutationVariables>;
export const ExecuteImportDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ExecuteImport"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"clientId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"accessToken"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"executeImport"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"clientId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"clientId"}}},{"kind":"Argument","name":{"kind":"Name","value":"accessToken"},"value":{"kind":"Variable","name":{"kind":"Name","value":"accessToken"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ImportCounters"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ImportCounters"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"BulkImport"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"clientId"}},{"kind":"Field","name":{"kind":"Name","value":"accessToken"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"isTerminal"}},{"kind":"Field","name":{"kind":"Name","value":"expires"}},{"kind":"Field","name":{"kind":"Name","value":"totalRecordsReceived"}},{"kind":"Field","name":{"kind":"Name","value":"validationSuccessful"}},{"kind":"Field","name":{"kind":"Name","value":"validationFailed"}},{"kind":"Field","name":{"kind":"Name","value":"processed"}},{"kind":"Field","name":{"kind":"Name","value":"pending"}},{"kind":"Field","name":{"kind":"Name","value":"exceptions"}},{"kind":"Field","name":{"kind":"Name","value":"notHonored"}},{"kind":"Field","name":{"kind":"Name","value":"progress"}}]}}]} as unknown as DocumentNode<ExecuteImportMutation, ExecuteImportMutationVariables>;
export const ImportSummaryDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ImportSummary"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"clientId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"accessToken"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"importSummary"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"clientId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"clientId"}}},{"kind":"Argument","name":{"kind":"Name","value":"accessToken"},"value":{"kind":"Variable","name":{"kind":"Name","value":"accessToken"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ImportCounters"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ImportCounters"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"BulkImport"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"clientId"}},{"kind":"Field","name":{"kind":"Name","value":"accessToken"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"isTerminal"}},{"kind":"Field","name":{"kind":"Name","value":"expires"}},{"kind":"Field","name":{"kind":"Name","value":"totalRecordsReceived"}},{"kind":"Field","name":{"kind":"Name","value":"validationSuccessful"}},{"kind":"Field","name":{"kind":"Name","value":"validationFailed"}},{"kind":"Field","name":{"kind":"Name","value":"processed"}},{"kind":"Field","name":{"kind":"Name","value":"pending"}},{"kind":"Field","name":{"kind":"Name","value":"exceptions"}},{"kind":"Field","name":{"kind":"Name","value":"notHonored"}},{"kind":"Field","name":{"kind":"Name","value":"progress"}}]}}]} as unknown as DocumentNode<ImportSummaryQuery, ImportSummaryQueryVariables>;
export const FailedRecordsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"FailedRecords"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"clientId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"accessToken"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"limit"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"offset"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"importSummary"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"clientId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"clientId"}}},{"kind":"Argument","name":{"kind":"Name","value":"accessToken"},"value":{"kind":"Variable","name":{"kind":"Name","value":"accessToken"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"failedRecords"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"limit"},"value":{"kind":"Variable","name":{"kind":"Name","value":"limit"}}},{"kind":"Argument","name":{"kind":"Name","value":"offset"},"value":{"kind":"Variable","name":{"kind":"Name","value":"offset"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"count"}},{"kind":"Field","name":{"kind":"Name","value":"hasMore"}},{"kind":"Field","name":{"kind":"Name","value":"limit"}},{"kind":"Field","name":{"kind":"Name","value":"offset"}},{"kind":"Field","name":{"kind":"Name","value":"totalResults"}},{"kind":"Field","name":{"kind":"Name","value":"records"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"phase"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"profileId"}},{"kind":"Field","name":{"kind":"Name","value":"record"}}]}}]}}]}}]}}]} as unknown as DocumentNode<FailedRecordsQuery, FailedRecordsQueryVariables>;
export const ImportStatusDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"ImportStatus"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"clientId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"accessToken"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"importStatus"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"clientId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"clientId"}}},{"kind":"Argument","name":{"kind":"Name","value":"accessToken"},"value":{"kind":"Variable","name":{"kind":"Name","value":"accessToken"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ImportCounters"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ImportCounters"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"BulkImport"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"clientId"}},{"kind":"Field","name":{"kind":"Name","value":"accessToken"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"isTerminal"}},{"kind":"Field","name":{"kind":"Name","value":"expires"}},{"kind":"Field","name":{"kind":"Name","value":"totalRecordsReceived"}},{"kind":"Field","name":{"kind":"Name","value":"validationSuccessful"}},{"kind":"Field","name":{"kind":"Name","value":"validationFailed"}},{"kind":"Field","name":{"kind":"Name","value":"processed"}},{"kind":"Field","name":{"kind":"Name","value":"pending"}},{"kind":"Field","name":{"kind":"Name","value":"exceptions"}},{"kind":"Field","name":{"kind":"Name","value":"notHonored"}},{"kind":"Field","name":{"kind":"Name","value":"progress"}}]}}]} as unknown as DocumentNode<ImportStatusSubscription, ImportStatusSubscriptionVariables>;
export const WatchImportDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"WatchImport"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"clientId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"accessToken"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"watchImport"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"clientId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"clientId"}}},{"kind":"Argument","name":{"kind":"Name","value":"accessToken"},"value":{"kind":"Variable","name":{"kind":"Name","value":"accessToken"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ImportCounters"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ImportCounters"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"BulkImport"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"clientId"}},{"kind":"Field","name":{"kind":"Name","value":"accessToken"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"isTerminal"}},{"kind":"Field","name":{"kind":"Name","value":"expires"}},{"kind":"Field","name":{"kind":"Name","value":"totalRecordsReceived"}},{"kind":"Field","name":{"kind":"Name","value":"validationSuccessful"}},{"kind":"Field","name":{"kind":"Name","value":"validationFailed"}},{"kind":"Field","name":{"kind":"Name","value":"processed"}},{"kind":"Field","name":{"kind":"Name","value":"pending"}},{"kind":"Field","name":{"kind":"Name","value":"exceptions"}},{"kind":"Field","name":{"kind":"Name","value":"notHonored"}},{"kind":"Field","name":{"kind":"Name","value":"progress"}}]}}]} as unknown as DocumentNode<WatchImportMutation, WatchImportMutationVariables>;
export const ImportsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Imports"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"clientId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ImportFilter"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"imports"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"clientId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"clientId"}}},{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}},{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cursor"}},{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ImportCounters"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdBy"}},{"kind":"Field","name":{"kind":"Name","value":"executedAt"}},{"kind":"Field","name":{"kind":"Name","value":"finishedAt"}},{"kind":"Field","name":{"kind":"Name","value":"observedAt"}},{"kind":"Field","name":{"kind":"Name","value":"isFinal"}}]}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ImportCounters"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"BulkImport"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"clientId"}},{"kind":"Field","name":{"kind":"Name","value":"accessToken"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"isTerminal"}},{"kind":"Field","name":{"kind":"Name","value":"expires"}},{"kind":"Field","name":{"kind":"Name","value":"totalRecordsReceived"}},{"kind":"Field","name":{"kind":"Name","value":"validationSuccessful"}},{"kind":"Field","name":{"kind":"Name","value":"validationFailed"}},{"kind":"Field","name":{"kind":"Name","value":"processed"}},{"kind":"Field","name":{"kind":"Name","value":"pending"}},{"kind":"Field","name":{"kind":"Name","value":"exceptions"}},{"kind":"Field","name":{"kind":"Name","value":"notHonored"}},{"kind":"Field","name":{"kind":"Name","value":"progress"}}]}}]} as unknown as DocumentNode<ImportsQuery, ImportsQueryVariables>;
export const ImportHistoryDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ImportHistory"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"clientId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"accessToken"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"importSummary"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"clientId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"clientId"}}},{"kind":"Argument","name":{"kind":"Name","value":"accessToken"},"value":{"kind":"Variable","name":{"kind":"Name","value":"accessToken"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"clientId"}},{"kind":"Field","name":{"kind":"Name","value":"accessToken"}},{"kind":"Field","name":{"kind":"Name","value":"history"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}},{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cursor"}},{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"actor"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"detail"}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<ImportHistoryQuery, ImportHistoryQueryVariables>;