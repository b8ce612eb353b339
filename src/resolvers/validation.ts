import type { ImportAction, MatchCriteria } from '../domain/bulk-import.js';
import type { ImportRef } from '../domain/import-ref.js';
import { badUserInput } from '../errors/gateway-error.js';
import { LIMITS, MATCH_CRITERIA_ALTERNATE_ID_TYPE, type UpstreamInitiateRequest } from '../mypreferences-contract.js';

/**
 * Gateway-side argument validation. Everything here fails with BAD_USER_INPUT before any
 * upstream request is made, so a bad call costs the upstream nothing.
 */

const CLIENT_ID_MAX_LENGTH = 200;
const MAX_ACCESS_TOKEN = BigInt(Number.MAX_SAFE_INTEGER);

export function clientIdArg(clientId: string): string {
  if (clientId.length === 0 || clientId.length > CLIENT_ID_MAX_LENGTH) {
    throw badUserInput(`clientId must be 1 to ${CLIENT_ID_MAX_LENGTH} characters long.`, 'clientId');
  }
  // eslint-disable-next-line no-control-regex
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(clientId)) throw badUserInput('clientId must not contain control characters.', 'clientId');
  if (clientId === '.' || clientId === '..') throw badUserInput('clientId cannot be "." or "..".', 'clientId');
  return clientId;
}

/** `accessToken` is an ID so clients may send `"1234"` or `1234`; it must be a positive integer. */
function accessTokenArg(accessToken: string): string {
  if (!/^[1-9]\d{0,15}$/.test(accessToken) || BigInt(accessToken) > MAX_ACCESS_TOKEN) {
    throw badUserInput('accessToken must be a positive integer, as returned by initiateImport.', 'accessToken');
  }
  return accessToken;
}

export function importRefArgs(args: { clientId: string; accessToken: string }): ImportRef {
  return { clientId: clientIdArg(args.clientId), accessToken: accessTokenArg(args.accessToken) };
}

export interface InitiateImportInput {
  name: string;
  dataStageDuration?: number | null;
  importAction?: ImportAction | null;
  matchCriteria?: MatchCriteria | null;
  matchValue?: string | null;
  refreshAlternateIds?: boolean | null;
  refreshContacts?: boolean | null;
  refreshCustomFields?: boolean | null;
  refreshGroups?: boolean | null;
  refreshTags?: boolean | null;
  allowPriorConsents?: boolean | null;
}

/** Validates the input and builds the upstream's Initiate body (settings left unset keep the upstream's defaults). */
export function initiateRequestOf(input: InitiateImportInput): UpstreamInitiateRequest {
  const nameLength = [...input.name].length;
  if (input.name.trim() === '' || nameLength > LIMITS.nameMaxLength) {
    throw badUserInput(`input.name must be 1 to ${LIMITS.nameMaxLength} characters and not blank.`, 'input.name');
  }
  const duration = input.dataStageDuration;
  if (duration != null && (duration < 0 || duration > LIMITS.dataStageDurationMax)) {
    throw badUserInput(`input.dataStageDuration must be between 0 and ${LIMITS.dataStageDurationMax} days.`, 'input.dataStageDuration');
  }
  const matchValue = input.matchValue ?? null;
  if (input.matchCriteria != null && (matchValue === null || matchValue.trim() === '')) {
    throw badUserInput('input.matchValue is required when input.matchCriteria is set.', 'input.matchValue');
  }
  if (input.matchCriteria == null && matchValue !== null) {
    throw badUserInput('input.matchValue is only used together with input.matchCriteria.', 'input.matchValue');
  }

  const request: UpstreamInitiateRequest = { Name: input.name };
  if (duration != null) request.DataStageDuration = duration;
  if (input.importAction != null) request.ImportAction = input.importAction === 'DELETE' ? 'Delete' : 'Add';
  if (input.matchCriteria != null) {
    request.MatchCriteria = MATCH_CRITERIA_ALTERNATE_ID_TYPE;
    request.MatchValue = matchValue;
  }
  const flags = {
    RefreshAlternateIds: input.refreshAlternateIds,
    RefreshContacts: input.refreshContacts,
    RefreshCustomFields: input.refreshCustomFields,
    RefreshGroups: input.refreshGroups,
    RefreshTags: input.refreshTags,
    AllowPriorConsents: input.allowPriorConsents,
  } as const;
  for (const [field, value] of Object.entries(flags)) {
    if (value != null) request[field as keyof typeof flags] = value;
  }
  return request;
}

export function recordsArg(records: readonly Record<string, unknown>[], maxRecordsPerStage: number): readonly Record<string, unknown>[] {
  if (records.length === 0) throw badUserInput('records must contain at least one record.', 'records');
  if (records.length > maxRecordsPerStage) {
    throw badUserInput(`records may contain at most ${maxRecordsPerStage} records per call; stage them in several calls.`, 'records');
  }
  return records;
}

/** `failedRecords(limit, offset)`: an explicit null means the default. */
export function failedRecordsPageArgs(args: { limit?: number | null; offset?: number | null }): { limit: number; offset: number } {
  const limit = args.limit ?? 100;
  const offset = args.offset ?? LIMITS.exceptionsOffsetDefault;
  if (limit < 1 || limit > LIMITS.exceptionsLimitMax) {
    throw badUserInput(`limit must be between 1 and ${LIMITS.exceptionsLimitMax}.`, 'limit');
  }
  if (offset < 1) throw badUserInput('offset must be 1 or more (it is 1-based).', 'offset');
  return { limit, offset };
}
