/**
 * The Exceptions route's paging: `limit` and `offset` query parameters and the page body.
 */
import { LIMITS, type UpstreamException, type UpstreamExceptionPage } from '../mypreferences-contract.js';
import type { SimulatedImport } from './import-record.js';

/** Parsed paging, or the reason it is refused (→ 400). */
export type PagingResult = { ok: true; limit: number; offset: number } | { ok: false; field: 'limit' | 'offset'; message: string };

/**
 * Reads `limit` (default 1000, clamped to 1000) and `offset` (1-based, default 1). A value that is
 * present but not a whole number, or below 1, is refused.
 */
export function parsePaging(query: URLSearchParams): PagingResult {
  const limit = parsePositive(query.get('limit'), LIMITS.exceptionsLimitDefault);
  if (limit === null) return { ok: false, field: 'limit', message: 'limit must be an integer of at least 1.' };
  const offset = parsePositive(query.get('offset'), LIMITS.exceptionsOffsetDefault);
  if (offset === null) return { ok: false, field: 'offset', message: 'offset must be an integer of at least 1.' };
  return { ok: true, limit: Math.min(limit, LIMITS.exceptionsLimitMax), offset };
}

function parsePositive(raw: string | null, fallback: number): number | null {
  if (raw === null) return fallback;
  if (!/^[+-]?\d+$/.test(raw)) return null;
  const value = Number(raw);
  return value >= 1 ? value : null;
}

/**
 * One page of the import's failed records: staging failures in stage order, then the execution
 * exceptions processing has reached so far.
 */
export function exceptionPage(imp: SimulatedImport, exceptionsReached: number, limit: number, offset: number): UpstreamExceptionPage {
  const failures = imp.failures.length;
  const total = failures + exceptionsReached;
  const start = offset - 1;
  const end = Math.min(total, start + limit);
  const items: UpstreamException[] = [];
  for (let index = start; index < end; index += 1) {
    if (index < failures) {
      const failure = imp.failures[index]!;
      items.push({ Phase: 'Staging', ExceptionMessage: failure.message, ProfileId: failure.profileId, Record: failure.record });
    } else {
      const candidate = imp.candidates[index - failures]!;
      items.push({ Phase: 'Execution', ExceptionMessage: candidate.message, ProfileId: candidate.profileId, Record: candidate.record });
    }
  }
  return {
    Count: items.length,
    HasMore: start + items.length < total,
    Limit: limit,
    Offset: offset,
    TotalResults: total,
    BulkUserProfilePreferenceExceptions: items,
  };
}
