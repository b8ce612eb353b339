/**
 * Record receipts (opt-in, `recordReceipts: true`): how many times each record reached one
 * import over all its Stage calls, so a test can prove that a client staged a whole file exactly
 * once — no record lost, none sent twice — even through faults that lose an answer after the
 * change was made. Off by default: its memory grows with the distinct records an import
 * received, while the simulator otherwise only counts them (see `import-record.ts`).
 */

/** What one import received, as `simulator.recordReceipts()` and the control route report it. */
export interface RecordReceipts {
  /** Records of every accepted Stage call (the import's `TotalRecordsReceived`), duplicates included. */
  received: number;
  /** Distinct records among them: by `ProfileId` when it is a non-empty string, else by canonical JSON text. */
  distinct: number;
  /**
   * The first 100 identities received more than once, in the order each was first received
   * again, with how many times each was received in all.
   */
  duplicates: { id: string; count: number }[];
}

/** How many duplicated identities a report lists; a test needs the first few, not millions. */
const DUPLICATES_REPORTED = 100;

/** An identity is either a ProfileId or a record's content; a tag keeps the two from colliding. */
const PROFILE_TAG = 'p';
const CONTENT_TAG = 'c';

/** Counts the records one import received, per identity. */
export class ReceiptCounter {
  /** Tagged identity → times received; insertion order is the order of first receipt. */
  readonly #counts = new Map<string, number>();
  /** Tagged identities that reached a second receipt, the first {@link DUPLICATES_REPORTED} of them. */
  readonly #duplicates: string[] = [];
  #received = 0;

  /** Counts one receipt of each record, in order. Throws before counting anything if an identity cannot be computed. */
  add(records: readonly Record<string, unknown>[]): void {
    // Identities first: a record too deeply nested to serialise must not leave the batch half counted.
    const keys = records.map(taggedIdentity);
    for (const key of keys) {
      const count = (this.#counts.get(key) ?? 0) + 1;
      this.#counts.set(key, count);
      if (count === 2 && this.#duplicates.length < DUPLICATES_REPORTED) this.#duplicates.push(key);
    }
    this.#received += keys.length;
  }

  /** The counts so far; a fresh object each time. */
  report(): RecordReceipts {
    return {
      received: this.#received,
      distinct: this.#counts.size,
      duplicates: this.#duplicates.map((key) => ({ id: key.slice(1), count: this.#counts.get(key) ?? 0 })),
    };
  }
}

/**
 * A record's identity, tagged: its `ProfileId` when that is a non-empty string, else its
 * canonical JSON text, so a record without one is still recognised when sent again, whatever the
 * order of its fields. The report shows it untagged.
 */
function taggedIdentity(record: Record<string, unknown>): string {
  const profileId = record['ProfileId'];
  return typeof profileId === 'string' && profileId !== '' ? PROFILE_TAG + profileId : CONTENT_TAG + canonicalJson(record);
}

/**
 * JSON text of a parsed JSON value with every object's keys sorted (by UTF-16 code units, as
 * `Array.prototype.sort` compares), so equal values give equal text however their fields were
 * ordered on the wire. Numbers are written as `JSON.stringify` writes them (`1.0` and `1` are one).
 */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const object = value as Record<string, unknown>;
    const fields = Object.keys(object)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key])}`);
    return `{${fields.join(',')}}`;
  }
  return JSON.stringify(value);
}
