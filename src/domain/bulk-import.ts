import {
  MATCH_CRITERIA_ALTERNATE_ID_TYPE,
  TERMINAL_STATUSES,
  type UpstreamException,
  type UpstreamExceptionPage,
  type UpstreamImportState,
} from '../mypreferences-contract.js';

/** The GraphQL view of an import: what `BulkImport` fields read. */
export interface BulkImport {
  clientId: string;
  accessToken: string;
  name: string;
  status: ImportStatus;
  isTerminal: boolean;
  expires: Date | null;
  totalRecordsReceived: number;
  validationSuccessful: number;
  validationFailed: number;
  processed: number;
  pending: number;
  exceptions: number;
  notHonored: number;
  progress: number;
  settings: ImportSettings;
}

export type ImportStatus = 'INITIATED' | 'STAGING' | 'QUEUED' | 'PROCESSING' | 'COMPLETED' | 'FAILED';
export type ImportAction = 'ADD' | 'DELETE';
export type MatchCriteria = 'ALTERNATE_ID_TYPE';
export type ImportPhase = 'STAGING' | 'EXECUTION';

export interface ImportSettings {
  dataStageDuration: number;
  importAction: ImportAction;
  matchCriteria: MatchCriteria | null;
  matchValue: string | null;
  refreshAlternateIds: boolean;
  refreshContacts: boolean;
  refreshCustomFields: boolean;
  refreshGroups: boolean;
  refreshTags: boolean;
  allowPriorConsents: boolean;
}

export interface FailedRecordPage {
  count: number;
  hasMore: boolean;
  limit: number;
  offset: number;
  totalResults: number;
  records: FailedRecord[];
}

export interface FailedRecord {
  phase: ImportPhase;
  message: string | null;
  profileId: string | null;
  record: Record<string, unknown> | null;
}

/**
 * Maps an upstream BulkImportStatus to the GraphQL view. `lastKnownProgress` is the progress the
 * caller saw before (the status engine keeps it), used when the import has FAILED.
 */
export function toBulkImport(clientId: string, accessToken: string, state: UpstreamImportState, lastKnownProgress?: number): BulkImport {
  const status = state.Status.toUpperCase() as ImportStatus;
  const counters = {
    totalRecordsReceived: state.TotalRecordsReceived,
    validationSuccessful: state.ValidationSuccessful,
    validationFailed: state.ValidationFailed,
    processed: state.Processed,
    pending: state.Pending,
    exceptions: state.Exceptions,
    notHonored: state.NotHonored,
  };
  return {
    clientId,
    accessToken,
    name: state.Name,
    status,
    isTerminal: TERMINAL_STATUSES.has(state.Status),
    expires: state.Expires === null ? null : new Date(state.Expires),
    ...counters,
    progress: status === 'FAILED' && lastKnownProgress !== undefined ? lastKnownProgress : progressOf(status, counters),
    settings: {
      dataStageDuration: state.DataStageDuration,
      importAction: state.ImportAction === 'Delete' ? 'DELETE' : 'ADD',
      matchCriteria: state.MatchCriteria?.toLowerCase() === MATCH_CRITERIA_ALTERNATE_ID_TYPE.toLowerCase() ? 'ALTERNATE_ID_TYPE' : null,
      matchValue: state.MatchValue,
      refreshAlternateIds: state.RefreshAlternateIds,
      refreshContacts: state.RefreshContacts,
      refreshCustomFields: state.RefreshCustomFields,
      refreshGroups: state.RefreshGroups,
      refreshTags: state.RefreshTags,
      allowPriorConsents: state.AllowPriorConsents,
    },
  };
}

/**
 * `progress` as the public API defines it: 0 before Execute; the share of validated records
 * already handled while QUEUED/PROCESSING; 1 when COMPLETED. For FAILED the API promises the last
 * known value: without one (a first look at an already failed import), the same formula over the
 * counters the upstream froze when it failed is the best estimate.
 */
export function progressOf(status: ImportStatus, counters: Pick<BulkImport, 'processed' | 'exceptions' | 'notHonored' | 'validationSuccessful'>): number {
  switch (status) {
    case 'INITIATED':
    case 'STAGING':
      return 0;
    case 'COMPLETED':
      return 1;
    case 'QUEUED':
    case 'PROCESSING':
    case 'FAILED': {
      if (counters.validationSuccessful === 0) return 0;
      const handled = counters.processed + counters.exceptions + counters.notHonored;
      return Math.min(1, Math.max(0, handled / counters.validationSuccessful));
    }
  }
}

export function toFailedRecordPage(page: UpstreamExceptionPage): FailedRecordPage {
  return {
    count: page.Count,
    hasMore: page.HasMore,
    limit: page.Limit,
    offset: page.Offset,
    totalResults: page.TotalResults,
    records: page.BulkUserProfilePreferenceExceptions.map(toFailedRecord),
  };
}

function toFailedRecord(exception: UpstreamException): FailedRecord {
  return {
    phase: exception.Phase === 'Execution' ? 'EXECUTION' : 'STAGING',
    message: exception.ExceptionMessage,
    profileId: exception.ProfileId,
    record: exception.Record,
  };
}
