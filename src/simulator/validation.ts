/**
 * The request and record rules of the simulator: Initiate settings and Stage records.
 *
 * The public documentation gives the settings' types and ranges; the record rules are DECIDED in
 * `docs/mypreferences-bulk-import.md` (the real service validates far more). Every rule lives here
 * so it is easy to change when a real account shows otherwise.
 */
import { IMPORT_ACTIONS, LIMITS, MATCH_CRITERIA_ALTERNATE_ID_TYPE, type UpstreamImportAction, type UpstreamImportSettings } from '../mypreferences-contract.js';

/** ASP.NET-style field → messages map of a 400 answer. */
export type ModelState = Record<string, string[]>;

/** The outcome of checking an Initiate body. */
export type SettingsResult = { ok: true; settings: UpstreamImportSettings } | { ok: false; message: string; modelState?: ModelState };

const REFRESH_FLAGS = ['RefreshAlternateIds', 'RefreshContacts', 'RefreshCustomFields', 'RefreshGroups', 'RefreshTags', 'AllowPriorConsents'] as const;

/**
 * Checks an Initiate body (already JSON-parsed) and applies the defaults. All problems are
 * reported at once, one ModelState entry per field. Unknown extra fields are ignored; `null`
 * reads as "absent" for optional fields, as ASP.NET model binding does.
 */
export function validateInitiateBody(body: unknown): SettingsResult {
  if (!isPlainObject(body)) return { ok: false, message: 'The request body must be a JSON object.' };
  const problems: ModelState = {};
  const problem = (field: string, text: string): void => {
    problems[field] = [...(problems[field] ?? []), text];
  };

  const name = body['Name'];
  // Length in code points, as a person counts characters (the gateway counts the same way).
  if (typeof name !== 'string' || name.length === 0) problem('Name', 'The Name field is required.');
  else if ([...name].length > LIMITS.nameMaxLength) {
    problem('Name', `The field Name must be a string with a maximum length of ${LIMITS.nameMaxLength}.`);
  }

  const duration = body['DataStageDuration'] ?? LIMITS.dataStageDurationDefault;
  if (typeof duration !== 'number' || !Number.isInteger(duration) || duration < 0 || duration > LIMITS.dataStageDurationMax) {
    problem('DataStageDuration', `The field DataStageDuration must be an integer between 0 and ${LIMITS.dataStageDurationMax}.`);
  }

  const action = body['ImportAction'] ?? 'Add';
  if (typeof action !== 'string' || !(IMPORT_ACTIONS as readonly string[]).includes(action)) {
    problem('ImportAction', `The field ImportAction must be one of: ${IMPORT_ACTIONS.join(', ')}.`);
  }

  const matchCriteria = body['MatchCriteria'] ?? null;
  if (matchCriteria !== null && matchCriteria !== MATCH_CRITERIA_ALTERNATE_ID_TYPE) {
    problem('MatchCriteria', `The only supported MatchCriteria is ${MATCH_CRITERIA_ALTERNATE_ID_TYPE}.`);
  }
  const matchValue = body['MatchValue'] ?? null;
  if (matchValue !== null && typeof matchValue !== 'string') problem('MatchValue', 'The field MatchValue must be a string.');
  else if (matchCriteria !== null && (matchValue === null || matchValue === '')) {
    problem('MatchValue', 'The MatchValue field is required when MatchCriteria is set.');
  }

  const flags = {} as Record<(typeof REFRESH_FLAGS)[number], boolean>;
  for (const flag of REFRESH_FLAGS) {
    const value = body[flag] ?? false;
    if (typeof value !== 'boolean') problem(flag, `The field ${flag} must be a boolean.`);
    flags[flag] = value === true;
  }

  if (Object.keys(problems).length > 0) {
    return { ok: false, message: 'The request is invalid.', modelState: problems };
  }
  return {
    ok: true,
    settings: {
      Name: name as string,
      DataStageDuration: duration as number,
      ImportAction: action as UpstreamImportAction,
      MatchCriteria: matchCriteria as string | null,
      // DECIDED: a MatchValue without MatchCriteria is echoed back but matches nothing.
      MatchValue: matchValue as string | null,
      ...flags,
    },
  };
}

/** The outcome of checking one staged record. */
export type RecordVerdict =
  /** Passes validation and will be imported. */
  | { kind: 'valid' }
  /** Passes validation but will become an exception when the import executes. */
  | { kind: 'exception-candidate'; message: string }
  /** Fails validation: counted in ValidationFailed and never imported. */
  | { kind: 'invalid'; message: string };

/** Message of an execution exception for a prior consent (DECIDED). */
const PRIOR_CONSENT_MESSAGE = 'Prior consent not allowed';

/**
 * Applies the DECIDED record rules, first failing rule wins:
 * 1. identity: a non-empty string `ProfileId`; or, when the import has `MatchCriteria`, an
 *    `AlternateIds` entry whose `Type` (or `AlternateIdType`) equals `MatchValue`;
 * 2. every `Emails` entry has an `EmailAddress` string containing `@` (an entry without one has no
 *    `@` either, so it fails too);
 * 3. a `Consents` entry with `"Prior": true` while `AllowPriorConsents` is false passes validation
 *    but becomes an exception during execution.
 */
export function validateRecord(record: Record<string, unknown>, settings: UpstreamImportSettings): RecordVerdict {
  if (settings.MatchCriteria !== null) {
    const alternateIds = record['AlternateIds'];
    const matches =
      Array.isArray(alternateIds) &&
      alternateIds.some((entry) => isPlainObject(entry) && (entry['Type'] === settings.MatchValue || entry['AlternateIdType'] === settings.MatchValue));
    if (!matches) return { kind: 'invalid', message: `AlternateId of type ${settings.MatchValue} is required` };
  } else {
    const profileId = record['ProfileId'];
    if (typeof profileId !== 'string' || profileId === '') return { kind: 'invalid', message: 'ProfileId is required' };
  }

  const emails = record['Emails'];
  if (Array.isArray(emails)) {
    const invalid = emails.some((entry) => {
      const address = isPlainObject(entry) ? entry['EmailAddress'] : undefined;
      return typeof address !== 'string' || !address.includes('@');
    });
    if (invalid) return { kind: 'invalid', message: 'Email address is invalid' };
  }

  if (!settings.AllowPriorConsents) {
    const consents = record['Consents'];
    if (Array.isArray(consents) && consents.some((consent) => isPlainObject(consent) && consent['Prior'] === true)) {
      return { kind: 'exception-candidate', message: PRIOR_CONSENT_MESSAGE };
    }
  }
  return { kind: 'valid' };
}

/** A JSON object (not null, not an array). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The record's `ProfileId` when it is a string, for the Exceptions route. */
export function profileIdOf(record: Record<string, unknown>): string | null {
  const profileId = record['ProfileId'];
  return typeof profileId === 'string' ? profileId : null;
}
