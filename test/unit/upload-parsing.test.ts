import { describe, expect, it } from 'vitest';
import { csvRecords, nestedRecord } from '../../src/jobs/csv-records.js';
import { ndjsonRecords } from '../../src/jobs/ndjson-records.js';
import { BodyBuffers, packStageBodies, type StageBatch } from '../../src/jobs/stage-bodies.js';
import type { ParseStart, UploadItem } from '../../src/jobs/upload-items.js';

/** `text` as chunks of `size` bytes: records must come out the same however the bytes are cut. */
async function* chunksOf(text: string | Buffer, size: number): AsyncGenerator<Buffer> {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

async function collect(batches: AsyncIterable<readonly UploadItem[]>) {
  const out: unknown[] = [];
  for await (const items of batches) {
    for (const item of items) out.push(item.kind === 'record' ? { record: item.json.toString(), line: item.line, end: item.end } : item);
  }
  return out;
}

const start = (length: number, overrides: Partial<ParseStart> = {}): ParseStart => ({
  offset: 0,
  lines: 0,
  maxLineBytes: 1024,
  final: (read) => read === length,
  ...overrides,
});

describe('NDJSON records', () => {
  const text = '\uFEFF{"ProfileId":"p-1"}\r\n\n[1]\n{"ProfileId":"é-4"}\nnot json\n{"ProfileId":"p-6"}';

  it('reads records, rejections and offsets alike whatever the chunk size', async () => {
    const expected = await collect(ndjsonRecords(chunksOf(text, 1_000), start(Buffer.byteLength(text))));
    for (const size of [1, 2, 3, 7, 64]) expect(await collect(ndjsonRecords(chunksOf(text, size), start(Buffer.byteLength(text))))).toEqual(expected);
    expect(expected).toEqual([
      { record: '{"ProfileId":"p-1"}', line: 1, end: 24 },
      { kind: 'rejected', line: 2, reason: 'empty line', end: 25 },
      { kind: 'rejected', line: 3, reason: 'not a JSON object (a record is one object per line)', end: 29 },
      { record: '{"ProfileId":"é-4"}', line: 4, end: 50 },
      { kind: 'rejected', line: 5, reason: 'not valid JSON', end: 59 },
      { record: '{"ProfileId":"p-6"}', line: 6, end: 78 },
    ]);
  });

  it('leaves a last line without its ending for the next PATCH unless the upload ends there', async () => {
    const notFinal = await collect(ndjsonRecords(chunksOf(text, 5), start(Buffer.byteLength(text), { final: () => false })));
    expect(notFinal.at(-1)).toMatchObject({ line: 5, end: 59 });
  });

  it('goes on from a checkpoint: offsets and line numbers continue', async () => {
    const rest = '{"a":1}\n';
    expect(await collect(ndjsonRecords(chunksOf(rest, 3), { offset: 1_000, lines: 41, maxLineBytes: 1024, final: () => false }))).toEqual([
      { record: '{"a":1}', line: 42, end: 1_008 },
    ]);
  });

  it('tells a blank line (any whitespace trim knows), a non-JSON line and one nested too deep apart', async () => {
    const deep = `{"a":${'['.repeat(300)}${']'.repeat(300)}}`;
    const file = ` \t\r\n\u00a0\u2028\n\f\n${deep}\n{"a":[[{}]]}\n{"a":1}x\n`;
    expect(await collect(ndjsonRecords(chunksOf(file, 7), start(Buffer.byteLength(file))))).toMatchObject([
      { kind: 'rejected', line: 1, reason: 'empty line' },
      { kind: 'rejected', line: 2, reason: 'empty line' },
      { kind: 'rejected', line: 3, reason: 'empty line' },
      { kind: 'rejected', line: 4, reason: 'nested deeper than 256 levels' },
      { record: '{"a":[[{}]]}', line: 5 },
      { kind: 'rejected', line: 6, reason: 'not valid JSON' },
    ]);
  });

  it('rejects a line longer than the limit without holding it', async () => {
    const long = `{"x":"${'y'.repeat(5_000)}"}`;
    const file = `{"a":1}\n${long}\n{"b":2}\n`;
    const items = await collect(ndjsonRecords(chunksOf(file, 100), start(file.length, { maxLineBytes: 1_000 })));
    expect(items).toEqual([
      { record: '{"a":1}', line: 1, end: 8 },
      { kind: 'rejected', line: 2, reason: 'LINE_TOO_LONG: longer than 1000 bytes', end: 8 + long.length + 1 },
      { record: '{"b":2}', line: 3, end: file.length },
    ]);
  });
});

describe('CSV records', () => {
  it('nests cells by the header paths: array indexes, booleans, empty cells left out', () => {
    expect(
      nestedRecord(['ProfileId', 'Emails.0.EmailAddress', 'Emails.1.EmailAddress', 'Consents.0.Prior', 'Name'], ['p-1', 'a@x', 'b@x', 'TRUE', '']),
    ).toEqual({
      ProfileId: 'p-1',
      Emails: [{ EmailAddress: 'a@x' }, { EmailAddress: 'b@x' }],
      Consents: [{ Prior: true }],
    });
  });

  it('reads a quoted field across lines, and a row cut by the end of a PATCH is left for the next one', async () => {
    const file = 'ProfileId,Note\np-1,"two\nlines"\np-2,"cut he';
    let header: string[] | undefined;
    const items = await collect(csvRecords(chunksOf(file, 4), start(file.length + 100), null, ({ columns }) => (header = columns)));
    expect(header).toEqual(['ProfileId', 'Note']);
    expect(items).toEqual([{ record: '{"ProfileId":"p-1","Note":"two\\nlines"}', line: 3, end: 31 }]);
  });

  it('refuses a header that names no record path', async () => {
    await expect(collect(csvRecords(chunksOf('Profile Id,x\n1,2\n', 8), start(17), null, () => {}))).rejects.toThrow(/not a record path/);
  });
});

describe('Stage bodies', () => {
  it('packs records into bodies no larger than the limit, each valid JSON, sent one at a time in order', async () => {
    const lines = Array.from({ length: 500 }, (_, index) => JSON.stringify({ ProfileId: `p-${index}`, pad: 'x'.repeat(index % 50) }));
    const file = `${lines.join('\n')}\n`;
    const sent: StageBatch[] = [];
    let inFlight = 0;
    const buffers = new BodyBuffers(4_096, 2);
    const end = await packStageBodies(ndjsonRecords(chunksOf(file, 333), start(file.length)), { offset: 0, lines: 0 }, buffers, async (batch) => {
      expect(inFlight).toBe(0);
      inFlight++;
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      // The buffer is reused once the call is done: what was sent is read now.
      sent.push({ ...batch, body: Buffer.from(batch.body) });
    });
    expect(end).toEqual({ offset: file.length, lines: 500 });
    expect(sent.length).toBeGreaterThan(5);
    let from = 0;
    const ids: string[] = [];
    for (const batch of sent) {
      expect(batch.body.length).toBeLessThanOrEqual(4_096);
      expect(batch.fromOffset).toBe(from);
      from = batch.toOffset;
      const body = JSON.parse(batch.body.toString()) as { UserProfilePreferences: { ProfileId: string }[] };
      expect(body.UserProfilePreferences).toHaveLength(batch.records);
      ids.push(...body.UserProfilePreferences.map((record) => record.ProfileId));
    }
    expect(ids).toEqual(lines.map((_, index) => `p-${index}`));
  });
});
