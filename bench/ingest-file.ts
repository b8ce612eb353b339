/**
 * The file the ingestion scenario uploads: NDJSON, one MyPreferences record per line, ~300 bytes
 * a line, deterministic (line i is always the same bytes), as large as asked.
 *
 * Records are shaped like `examples/synthetic-records.ts` (the demos'): mostly valid, with the
 * same failures at the same rates — every 41st without a ProfileId, every 23rd with an e-mail
 * address without `@` (both counted in the upstream's ValidationFailed), every 37th with a prior
 * consent (an exception on Execute, which the bench never sends) — and padded with the fields a
 * real export carries (names, a phone, a few preferences, custom fields) to ~300 bytes. Every line
 * is a JSON object, so no line is rejected by the gateway and the floor, which does not parse
 * lines, sends the same records.
 *
 * `node --import tsx bench/ingest-file.ts <path> <megabytes>` writes one by hand.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

const FIRST_NAMES = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'José', 'Zoë', 'Søren', 'Margaret', 'Ken', 'Frances'];
const LAST_NAMES = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Muñoz', 'Brontë', 'Kierkegaard', 'Hamilton', 'Thompson', 'Allen'];
const FREQUENCIES = ['Daily', 'Weekly', 'Monthly'];

/** Record `i` (from 1) as one line of JSON, without the newline. */
export function ingestLine(i: number): string {
  const first = FIRST_NAMES[i % FIRST_NAMES.length]!;
  const last = LAST_NAMES[(i >>> 3) % LAST_NAMES.length]!;
  const id = i % 41 === 0 ? '' : `"ProfileId":"p-${i}",`;
  const email = i % 23 === 0 ? `broken-address-${i}` : `${first.toLowerCase()}.${i}@example.com`;
  const consents = i % 37 === 0 ? ',"Consents":[{"Name":"Marketing","Prior":true}]' : '';
  const phone = `+1555${String(i % 10_000_000).padStart(7, '0')}`;
  return (
    `{${id}"Names":{"FirstName":"${first}","LastName":"${last}"},"Emails":[{"EmailAddress":"${email}"}],` +
    `"Phones":[{"PhoneNumber":"${phone}"}],` +
    `"Preferences":[{"Name":"Newsletter","Value":"Yes"},{"Name":"Frequency","Value":"${FREQUENCIES[i % 3]}"}],` +
    `"CustomFields":[{"Name":"Segment","Value":"segment-${i % 97}"}]${consents}}`
  );
}

export interface IngestFile {
  path: string;
  bytes: number;
  /** Lines, each a record. */
  records: number;
}

/** Writes records 1, 2, … until the file has at least `targetBytes` bytes (whole lines, each ending with `\n`). */
export function writeIngestFile(path: string, targetBytes: number): IngestFile {
  const fd = openSync(path, 'w');
  const CHUNK = 4 * 1024 * 1024;
  let bytes = 0;
  let records = 0;
  try {
    while (bytes < targetBytes) {
      const lines: string[] = [];
      let chunkBytes = 0;
      while (chunkBytes < CHUNK && bytes + chunkBytes < targetBytes) {
        records += 1;
        const line = `${ingestLine(records)}\n`;
        lines.push(line);
        chunkBytes += Buffer.byteLength(line);
      }
      const chunk = Buffer.from(lines.join(''));
      writeSync(fd, chunk);
      bytes += chunk.length;
    }
  } finally {
    closeSync(fd);
  }
  return { path, bytes, records };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [path, megabytes] = process.argv.slice(2);
  if (!path || !megabytes) throw new Error('usage: bench/ingest-file.ts <path> <megabytes>');
  const started = performance.now();
  const file = writeIngestFile(path, Number(megabytes) * 1024 * 1024);
  process.stdout.write(`${JSON.stringify({ ...file, tookMs: Math.round(performance.now() - started) })}\n`);
}
