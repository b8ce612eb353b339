/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** Whether the import adds or deletes profiles. */
export type ImportAction =
  /** Add or update profiles (the default). */
  | 'ADD'
  /** Delete profiles. */
  | 'DELETE';

/** Where an import job is. */
export type ImportJobState =
  /** Cancelled before Execute was sent; no Execute ever will be. Terminal. */
  | 'CANCELED'
  /** The import completed (or, with execute: false, every record is staged). Terminal. */
  | 'COMPLETED'
  /** Created; its upload has not started. */
  | 'CREATED'
  /** Execute was sent; the import runs (import.status, import.progress). */
  | 'EXECUTING'
  /** The job or its import failed (error). Terminal. */
  | 'FAILED'
  /** Uploaded, waiting for its clientId's earlier job to end (queuePosition). */
  | 'QUEUED'
  /** Its upload is arriving; records are staged as they come. */
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

/** The upload's format. */
export type RecordFormat =
  /** A header row of record paths (`ProfileId`, `Emails.0.EmailAddress`: a number is an array index), then one record a row; empty cells are left out, true/false are booleans, every other value a string. */
  | 'CSV'
  /** One record object (JSON) a line. */
  | 'NDJSON';

export type ImportJobFieldsFragment = { id: string, clientId: string, state: ImportJobState, format: RecordFormat, execute: boolean, uploadUrl: string, uploadLength: number | null, bytesStaged: number, recordsStaged: number, recordsRejected: number, stageCalls: number, queuePosition: number | null, createdAt: string, createdBy: string | null, finishedAt: string | null, error: { code: string, message: string } | null, import: { clientId: string, accessToken: string, status: ImportStatus, totalRecordsReceived: number, validationSuccessful: number, validationFailed: number, processed: number, pending: number, exceptions: number, progress: number, isTerminal: boolean } };

export type CreateImportJobMutationVariables = Exact<{
  clientId: string | number;
  input: InitiateImportInput;
  format?: RecordFormat | null | undefined;
  execute?: boolean | null | undefined;
}>;


export type CreateImportJobMutation = { createImportJob: { id: string, clientId: string, state: ImportJobState, format: RecordFormat, execute: boolean, uploadUrl: string, uploadLength: number | null, bytesStaged: number, recordsStaged: number, recordsRejected: number, stageCalls: number, queuePosition: number | null, createdAt: string, createdBy: string | null, finishedAt: string | null, error: { code: string, message: string } | null, import: { clientId: string, accessToken: string, status: ImportStatus, totalRecordsReceived: number, validationSuccessful: number, validationFailed: number, processed: number, pending: number, exceptions: number, progress: number, isTerminal: boolean } } };

export type CancelImportJobMutationVariables = Exact<{
  id: string | number;
}>;


export type CancelImportJobMutation = { cancelImportJob: { id: string, clientId: string, state: ImportJobState, format: RecordFormat, execute: boolean, uploadUrl: string, uploadLength: number | null, bytesStaged: number, recordsStaged: number, recordsRejected: number, stageCalls: number, queuePosition: number | null, createdAt: string, createdBy: string | null, finishedAt: string | null, error: { code: string, message: string } | null, import: { clientId: string, accessToken: string, status: ImportStatus, totalRecordsReceived: number, validationSuccessful: number, validationFailed: number, processed: number, pending: number, exceptions: number, progress: number, isTerminal: boolean } } };

export type ImportJobQueryVariables = Exact<{
  id: string | number;
  firstRejected?: number | null | undefined;
  afterRejected?: string | null | undefined;
}>;


export type ImportJobQuery = { importJob: { id: string, clientId: string, state: ImportJobState, format: RecordFormat, execute: boolean, uploadUrl: string, uploadLength: number | null, bytesStaged: number, recordsStaged: number, recordsRejected: number, stageCalls: number, queuePosition: number | null, createdAt: string, createdBy: string | null, finishedAt: string | null, rejectedLines: { pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ cursor: string, node: { line: number, reason: string } }> }, error: { code: string, message: string } | null, import: { clientId: string, accessToken: string, status: ImportStatus, totalRecordsReceived: number, validationSuccessful: number, validationFailed: number, processed: number, pending: number, exceptions: number, progress: number, isTerminal: boolean } } };

export type WatchImportJobSubscriptionVariables = Exact<{
  id: string | number;
}>;


export type WatchImportJobSubscription = { importJob: { id: string, clientId: string, state: ImportJobState, format: RecordFormat, execute: boolean, uploadUrl: string, uploadLength: number | null, bytesStaged: number, recordsStaged: number, recordsRejected: number, stageCalls: number, queuePosition: number | null, createdAt: string, createdBy: string | null, finishedAt: string | null, error: { code: string, message: string } | null, import: { clientId: string, accessToken: string, status: ImportStatus, totalRecordsReceived: number, validationSuccessful: number, validationFailed: number, processed: number, pending: number, exceptions: number, progress: number, isTerminal: boolean } } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const ImportJobFieldsFragmentDoc = new TypedDocumentString(`
    fragment ImportJobFields on ImportJob {
  id
  clientId
  state
  format
  execute
  uploadUrl
  uploadLength
  bytesStaged
  recordsStaged
  recordsRejected
  stageCalls
  queuePosition
  createdAt
  createdBy
  finishedAt
  error {
    code
    message
  }
  import {
    clientId
    accessToken
    status
    totalRecordsReceived
    validationSuccessful
    validationFailed
    processed
    pending
    exceptions
    progress
    isTerminal
  }
}
    `, {"fragmentName":"ImportJobFields"}) as unknown as TypedDocumentString<ImportJobFieldsFragment, unknown>;
export const CreateImportJobDocument = new TypedDocumentString(`
    mutation CreateImportJob($clientId: ID!, $input: InitiateImportInput!, $format: RecordFormat, $execute: Boolean) {
  createImportJob(
    clientId: $clientId
    input: $input
    format: $format
    execute: $execute
  ) {
    ...ImportJobFields
  }
}
    fragment ImportJobFields on ImportJob {
  id
  clientId
  state
  format
  execute
  uploadUrl
  uploadLength
  bytesStaged
  recordsStaged
  recordsRejected
  stageCalls
  queuePosition
  createdAt
  createdBy
  finishedAt
  error {
    code
    message
  }
  import {
    clientId
    accessToken
    status
    totalRecordsReceived
    validationSuccessful
    validationFailed
    processed
    pending
    exceptions
    progress
    isTerminal
  }
}`) as unknown as TypedDocumentString<CreateImportJobMutation, CreateImportJobMutationVariables>;
export const CancelImportJobDocument = new TypedDocumentString(`
    mutation CancelImportJob($id: ID!) {
  cancelImportJob(id: $id) {
    ...ImportJobFields
  }
}
    fragment ImportJobFields on ImportJob {
  id
  clientId
  state
  format
  execute
  uploadUrl
  uploadLength
  bytesStaged
  recordsStaged
  recordsRejected
  stageCalls
  queuePosition
  createdAt
  createdBy
  finishedAt
  error {
    code
    message
  }
  import {
    clientId
    accessToken
    status
    totalRecordsReceived
    validationSuccessful
    validationFailed
    processed
    pending
    exceptions
    progress
    isTerminal
  }
}`) as unknown as TypedDocumentString<CancelImportJobMutation, CancelImportJobMutationVariables>;
export const ImportJobDocument = new TypedDocumentString(`
    query ImportJob($id: ID!, $firstRejected: Int, $afterRejected: String) {
  importJob(id: $id) {
    ...ImportJobFields
    rejectedLines(first: $firstRejected, after: $afterRejected) {
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        cursor
        node {
          line
          reason
        }
      }
    }
  }
}
    fragment ImportJobFields on ImportJob {
  id
  clientId
  state
  format
  execute
  uploadUrl
  uploadLength
  bytesStaged
  recordsStaged
  recordsRejected
  stageCalls
  queuePosition
  createdAt
  createdBy
  finishedAt
  error {
    code
    message
  }
  import {
    clientId
    accessToken
    status
    totalRecordsReceived
    validationSuccessful
    validationFailed
    processed
    pending
    exceptions
    progress
    isTerminal
  }
}`) as unknown as TypedDocumentString<ImportJobQuery, ImportJobQueryVariables>;
export const WatchImportJobDocument = new TypedDocumentString(`
    subscription WatchImportJob($id: ID!) {
  importJob(id: $id) {
    ...ImportJobFields
  }
}
    fragment ImportJobFields on ImportJob {
  id
  clientId
  state
  format
  execute
  uploadUrl
  uploadLength
  bytesStaged
  recordsStaged
  recordsRejected
  stageCalls
  queuePosition
  createdAt
  createdBy
  finishedAt
  error {
    code
    message
  }
  import {
    clientId
    accessToken
    status
    totalRecordsReceived
    validationSuccessful
    validationFailed
    processed
    pending
    exceptions
    progress
    isTerminal
  }
}`) as unknown as TypedDocumentString<WatchImportJobSubscription, WatchImportJobSubscriptionVariables>;