/**
 * The ingestion floor: the fastest plain script that gets an NDJSON file into a MyPreferences
 * import, against which the gateway's import jobs are measured (`bench/ingest.ts`).
 *
 * It initiates an import (not timed), then reads the file as a stream and packs its lines, as
 * bytes and unparsed, into Stage bodies `{"UserProfilePreferences":[line,line,…]}` of at most
 * STAGE_BODY_BYTES (the gateway's own target: its `UPSTREAM_MAX_STAGE_BYTES` less its margin),
 * and posts them one at a time: the next body is packed while the previous Stage call is in
 * flight (two buffers, alternating), never two calls at once. What it does not do, and the
 * gateway must: parse and check each line (a line that is not a JSON object would make the
 * upstream refuse the whole body here), count and report rejected lines, keep an offset a client
 * can resume from, survive a Stage call whose outcome is unknown, receive the bytes from a
 * client over HTTP.
 *
 * Environment: INGEST_FILE, UPSTREAM_BASE_URL (ends with `/Profiles/`), CLIENT_ID, AUTHORIZATION,
 * STAGE_BODY_BYTES. Prints one JSON line: `{"msg": "ingested", accessToken, records, bytes,
 * stageCalls, startedAt, endedAt, cpuSeconds, rssAtStartBytes, peakRssBytes}` — times from opening
 * the file to the last Stage answer, on the wall clock (`performance.timeOrigin +
 * performance.now()`), as the bench's other processes stamp; CPU over the whole process.
 */
import { createReadStream } from 'node:fs';
import { Agent, request } from 'undici';

const file = required('INGEST_FILE');
const baseUrl = required('UPSTREAM_BASE_URL');
const clientId = required('CLIENT_ID');
const authorization = required('AUTHORIZATION');
const bodyBytes = Number(required('STAGE_BODY_BYTES'));

const now = () => performance.timeOrigin + performance.now();
const dispatcher = new Agent({ connections: 1, bodyTimeout: 300_000, headersTimeout: 300_000 });
const headers = { authorization, 'content-type': 'application/json' };

const PREFIX = Buffer.from('{"UserProfilePreferences":[');
const SUFFIX = Buffer.from(']}');
const NEWLINE = 0x0a;
const COMMA = 0x2c;
const CARRIAGE_RETURN = 0x0d;

async function post(path: string, body: Buffer | string): Promise<Record<string, unknown>> {
  const response = await request(`${baseUrl}${path}`, { method: 'POST', headers, body, dispatcher });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`POST ${path}: ${response.statusCode} ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

async function main(): Promise<void> {
  const initiated = await post(`Async/${encodeURIComponent(clientId)}/Import`, JSON.stringify({ Name: 'ingest floor' }));
  const accessToken = String(initiated['AccessToken']);
  const stagePath = `Async/${encodeURIComponent(clientId)}/Import/${accessToken}/Stage`;

  // Two bodies: one being packed, the other (possibly) in flight.
  const buffers = [Buffer.allocUnsafe(bodyBytes), Buffer.allocUnsafe(bodyBytes)];
  let current = 0;
  let body = buffers[current]!;
  let length = 0;
  let linesInBody = 0;
  let inFlight: Promise<unknown> = Promise.resolve();
  let stageCalls = 0;
  let records = 0;
  let bytes = 0;

  const startBody = () => {
    PREFIX.copy(body, 0);
    length = PREFIX.length;
    linesInBody = 0;
  };
  const flush = async () => {
    SUFFIX.copy(body, length);
    const payload = body.subarray(0, length + SUFFIX.length);
    await inFlight; // the other buffer is free once its call is answered
    stageCalls += 1;
    inFlight = post(stagePath, payload);
    inFlight.catch(() => undefined); // awaited at the next flush or at the end, where it throws
    current = 1 - current;
    body = buffers[current]!;
    startBody();
  };
  /** Packs one line into the body; false when it does not fit (flush, then call again). Synchronous: the hot loop awaits only per body. */
  const addLine = (source: Buffer, start: number, end: number): boolean => {
    if (end > start && source[end - 1] === CARRIAGE_RETURN) end -= 1;
    if (end <= start) return true; // an empty line is no record
    const size = end - start;
    if (length + (linesInBody > 0 ? 1 : 0) + size + SUFFIX.length > bodyBytes) {
      if (linesInBody === 0) throw new Error(`line ${records + 1} (${size} bytes) does not fit in a Stage body`);
      return false;
    }
    if (linesInBody > 0) body[length++] = COMMA;
    source.copy(body, length, start, end);
    length += size;
    linesInBody += 1;
    records += 1;
    return true;
  };
  const add = async (source: Buffer, start: number, end: number) => {
    if (!addLine(source, start, end)) {
      await flush();
      addLine(source, start, end);
    }
  };

  startBody();
  const rssAtStartBytes = process.memoryUsage.rss();
  const startedAt = now();
  let carry: Buffer | undefined; // the start of a line the previous chunk cut
  for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    let start = 0;
    let newline = chunk.indexOf(NEWLINE);
    if (carry !== undefined) {
      if (newline < 0) {
        carry = Buffer.concat([carry, chunk]);
        continue;
      }
      const line = Buffer.concat([carry, chunk.subarray(0, newline)]);
      carry = undefined;
      await add(line, 0, line.length);
      start = newline + 1;
      newline = chunk.indexOf(NEWLINE, start);
    }
    while (newline >= 0) {
      if (!addLine(chunk, start, newline)) await flush();
      else {
        start = newline + 1;
        newline = chunk.indexOf(NEWLINE, start);
      }
    }
    if (start < chunk.length) carry = Buffer.from(chunk.subarray(start));
  }
  if (carry !== undefined) await add(carry, 0, carry.length);
  if (linesInBody > 0) await flush();
  await inFlight;
  const endedAt = now();
  const cpu = process.cpuUsage();
  const ingested = {
    msg: 'ingested',
    accessToken,
    records,
    bytes,
    stageCalls,
    startedAt,
    endedAt,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    rssAtStartBytes,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  process.stdout.write(`${JSON.stringify(ingested)}\n`);
  await dispatcher.close();
}

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is required`);
  return value;
}

main().catch((error: unknown) => {
  process.stderr.write(`ingest floor failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
