/**
 * The client of the ingestion scenario: uploads the NDJSON file to an import job's `uploadUrl`
 * with tus-js-client, as a Node client would (a stream source with a finite `chunkSize`, the
 * length declared only once the stream ends), in its own process so the gateway's event loop and
 * memory are its own.
 *
 * The source is the file's read stream piped through a PassThrough: tus-js-client treats an
 * `fs.ReadStream` with a path as a file of known size (it reopens it for each chunk and never
 * ends a deferred-length upload), any other stream as a stream of unknown length, buffering at
 * most one chunk (in this process, not the gateway's).
 *
 * Environment: UPLOAD_URL, AUTHORIZATION, INGEST_FILE, CHUNK_BYTES. Prints JSON lines:
 * `{"msg": "first-byte", at}` when the first PATCH starts, then `{"msg": "uploaded", at, bytes,
 * patches, cpuSeconds}` when the last one is answered, or `{"msg": "failed", error}`. Times on the wall clock
 * (`performance.timeOrigin + performance.now()`), as the bench's other processes stamp.
 */
import { createReadStream } from 'node:fs';
import { PassThrough } from 'node:stream';
import { Upload } from 'tus-js-client';

const now = () => performance.timeOrigin + performance.now();
const print = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);

const uploadUrl = required('UPLOAD_URL');
const authorization = required('AUTHORIZATION');
const file = required('INGEST_FILE');
const chunkSize = Number(required('CHUNK_BYTES'));

let patches = 0;
let bytesSent = 0;
const source = createReadStream(file, { highWaterMark: 1024 * 1024 }).pipe(new PassThrough({ highWaterMark: 1024 * 1024 }));
const upload = new Upload(source, {
  uploadUrl,
  uploadLengthDeferred: true,
  chunkSize,
  headers: { Authorization: authorization },
  retryDelays: [0, 1000, 3000, 5000],
  onBeforeRequest: (request) => {
    if (request.getMethod() !== 'PATCH') return;
    patches += 1;
    if (patches === 1) print({ msg: 'first-byte', at: now() });
  },
  onProgress: (sent) => {
    bytesSent = sent;
  },
  onSuccess: () => {
    const cpu = process.cpuUsage();
    print({ msg: 'uploaded', at: now(), bytes: bytesSent, patches, cpuSeconds: (cpu.user + cpu.system) / 1e6 });
    process.exit(0);
  },
  onError: (error) => {
    print({ msg: 'failed', error: error.message.slice(0, 2000) });
    process.exit(1);
  },
});
upload.start();

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is required`);
  return value;
}
