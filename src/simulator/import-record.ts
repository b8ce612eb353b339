/**
 * What the simulator keeps of one import. Valid records are only counted, never kept: an import
 * may stage millions of them. Only records that will be reported on the Exceptions route are kept,
 * with the record as it was staged; with record receipts on, each record's identity and count too.
 */
import type { UpstreamImportSettings } from '../mypreferences-contract.js';
import type { ReceiptCounter } from './receipts.js';

/** A staged record that failed validation (reported with Phase `Staging`). */
export interface StagingFailure {
  message: string;
  profileId: string | null;
  record: Record<string, unknown>;
}

/** A valid record that will become an exception when execution reaches it (Phase `Execution`). */
export interface ExceptionCandidate {
  /** 0-based position among the import's valid records, i.e. its turn during processing. */
  ordinal: number;
  message: string;
  profileId: string | null;
  record: Record<string, unknown>;
}

/** One import, from Initiate on. Mutated only by the store. */
export interface SimulatedImport {
  readonly clientId: string;
  readonly accessToken: number;
  readonly settings: UpstreamImportSettings;
  readonly createdAt: number;
  /** The handle is refused once `now > expiresAt`. */
  readonly expiresAt: number;
  /** True once a Stage call was accepted (status `Staging`). */
  staged: boolean;
  /** Records received over all Stage calls. */
  received: number;
  /** Receipts per record identity; undefined unless the simulator records them (`recordReceipts`). */
  readonly receipts: ReceiptCounter | undefined;
  /** Records that passed validation, exception candidates included. */
  validCount: number;
  /** In staging order. */
  readonly failures: StagingFailure[];
  /** In staging order, so ordinals ascend. */
  readonly candidates: ExceptionCandidate[];
  /** When Execute was accepted; null before. */
  executedAt: number | null;
  /** When `failImport()` forced the import to Failed; null otherwise. */
  failedAt: number | null;
}
