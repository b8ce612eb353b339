import {
  EXCEPTION_PHASES,
  IMPORT_ACTIONS,
  STATUS_SPELLINGS,
  type UpstreamException,
  type UpstreamExceptionPage,
  type UpstreamImportState,
} from '../mypreferences-contract.js';

/**
 * Validation of upstream response bodies. The contract says a client must tolerate unknown
 * extra fields and missing optional ones (missing counters read as 0); anything present with the
 * wrong type, or a missing handle or status, is a malformed response.
 *
 * Each parser returns the typed value or throws {@link ResponseShapeError} naming what is wrong;
 * the client turns that into UPSTREAM_UNAVAILABLE.
 */
export class ResponseShapeError extends Error {
  override readonly name = 'ResponseShapeError';
}

/** A `Status` no spelling in the contract matches (the status engine keeps its last state). */
export class UnknownStatusError extends ResponseShapeError {
  constructor(readonly status: string) {
    super('Status has an unknown value');
  }
}

type Json = Record<string, unknown>;

export function parseImportState(body: unknown): UpstreamImportState {
  const json = object(body, 'body');
  const matchCriteria = optionalString(json, 'MatchCriteria');
  return {
    AccessToken: accessToken(json),
    Status: status(json),
    Name: optionalString(json, 'Name') ?? '',
    Expires: optionalDate(json, 'Expires'),
    TotalRecordsReceived: counter(json, 'TotalRecordsReceived'),
    ValidationSuccessful: counter(json, 'ValidationSuccessful'),
    ValidationFailed: counter(json, 'ValidationFailed'),
    Processed: counter(json, 'Processed'),
    Pending: counter(json, 'Pending'),
    Exceptions: counter(json, 'Exceptions'),
    NotHonored: counter(json, 'NotHonored'),
    DataStageDuration: counter(json, 'DataStageDuration', 3),
    ImportAction: oneOf(json, 'ImportAction', IMPORT_ACTIONS, 'Add'),
    MatchCriteria: matchCriteria ?? null,
    MatchValue: optionalString(json, 'MatchValue') ?? null,
    RefreshAlternateIds: flag(json, 'RefreshAlternateIds'),
    RefreshContacts: flag(json, 'RefreshContacts'),
    RefreshCustomFields: flag(json, 'RefreshCustomFields'),
    RefreshGroups: flag(json, 'RefreshGroups'),
    RefreshTags: flag(json, 'RefreshTags'),
    AllowPriorConsents: flag(json, 'AllowPriorConsents'),
  };
}

export function parseExceptionPage(body: unknown): UpstreamExceptionPage {
  const json = object(body, 'body');
  const items = json['BulkUserProfilePreferenceExceptions'] ?? [];
  if (!Array.isArray(items)) throw new ResponseShapeError('BulkUserProfilePreferenceExceptions is not a list');
  const records = items.map((item, index) => parseException(item, index));
  return {
    Count: counter(json, 'Count', records.length),
    HasMore: flag(json, 'HasMore'),
    Limit: counter(json, 'Limit'),
    Offset: counter(json, 'Offset'),
    TotalResults: counter(json, 'TotalResults', records.length),
    BulkUserProfilePreferenceExceptions: records,
  };
}

function parseException(item: unknown, index: number): UpstreamException {
  const json = object(item, `exception ${index}`);
  const record = json['Record'];
  if (record !== undefined && record !== null && !isObject(record)) {
    throw new ResponseShapeError(`exception ${index} Record is not an object`);
  }
  return {
    Phase: oneOf(json, 'Phase', EXCEPTION_PHASES, undefined),
    ExceptionMessage: optionalString(json, 'ExceptionMessage') ?? null,
    ProfileId: optionalString(json, 'ProfileId') ?? null,
    Record: record ?? null,
  };
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function object(value: unknown, what: string): Json {
  if (!isObject(value)) throw new ResponseShapeError(`${what} is not a JSON object`);
  return value;
}

function accessToken(json: Json): number {
  const value = json['AccessToken'];
  const token = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof token !== 'number' || !Number.isSafeInteger(token) || token < 1) {
    throw new ResponseShapeError('AccessToken is missing or not a positive integer');
  }
  return token;
}

function counter(json: Json, field: string, fallback = 0): number {
  const value = json[field];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ResponseShapeError(`${field} is not a non-negative integer`);
  }
  return value;
}

function flag(json: Json, field: string): boolean {
  const value = json[field];
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw new ResponseShapeError(`${field} is not a boolean`);
  return value;
}

function optionalString(json: Json, field: string): string | undefined {
  const value = json[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new ResponseShapeError(`${field} is not a string`);
  return value;
}

function status(json: Json): UpstreamImportState['Status'] {
  const value = optionalString(json, 'Status');
  if (value === undefined) throw new ResponseShapeError('Status is missing');
  const known = STATUS_SPELLINGS[value.toLowerCase().replace(/[\s_-]+/g, '')];
  if (known === undefined) throw new UnknownStatusError(value);
  return known;
}

/** An ISO-8601 date-time without a zone: the contract says UTC, but `Date.parse` would read it as local time. */
const LOCAL_DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

/** A date as an ISO string in UTC: a date-time without a zone is read as UTC, as the contract promises. */
function optionalDate(json: Json, field: string): string | null {
  const value = optionalString(json, field);
  if (value === undefined || value === '') return null;
  const time = Date.parse(LOCAL_DATE_TIME.test(value) ? `${value.replace(' ', 'T')}Z` : value);
  if (Number.isNaN(time)) throw new ResponseShapeError(`${field} is not a date`);
  return new Date(time).toISOString();
}

/** An enumerated string, matched case-insensitively (only its casing may drift). */
function oneOf<T extends string>(json: Json, field: string, allowed: readonly T[], fallback: T | undefined): T {
  const value = optionalString(json, field);
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw new ResponseShapeError(`${field} is missing`);
  }
  const match = allowed.find((candidate) => candidate.toLowerCase() === value.toLowerCase());
  if (match === undefined) throw new ResponseShapeError(`${field} has an unknown value`);
  return match;
}
