/**
 * The command line of `bulk-import`: one function from argv and the environment to what to do,
 * or a {@link ExitError} with {@link EXIT.USAGE} saying what is wrong. Nothing here touches the
 * network or the file system.
 */
import { parseArgs } from 'node:util';
import { EXIT, ExitError } from './exit-codes.js';
import type { RecordFormat } from './generated.js';

export const USAGE = `Usage: bulk-import upload FILE --client ID [options]
       bulk-import upload FILE --resume JOB_ID [options]

Uploads FILE to the bulk-import gateway as an import job (NDJSON: one record object a line; CSV
with --csv: a header row of record paths such as ProfileId,Emails.0.EmailAddress), shows its
progress, and follows the job until it ends. Every record is staged once. An interrupted upload
resumes when the same command runs again: the job and its upload URL are kept per file in
$XDG_CACHE_HOME/bulk-import-gateway/uploads/ (default ~/.cache/...), never the token.

Options:
  --client ID          the MyPreferences clientId to import into (required, except with --resume)
  --gateway URL        the gateway            default: $BULK_IMPORT_GATEWAY or http://localhost:4000
  --token TOKEN        the bearer token (a JWT; in passthrough mode the MyPreferences credential)
                       default: $BULK_IMPORT_TOKEN, else a development token from a gateway
                       running with nothing configured
  --csv                FILE is CSV                                      default: NDJSON
  --name NAME          the import's name, 1 to 100 characters          default: FILE's name
  --no-execute         only stage the records: the job ends COMPLETED once they are staged
  --resume JOB_ID      continue the upload of this job with FILE
  --chunk-size BYTES   bytes per upload request; k, m and g suffixes    default: 32m
  --json               one JSON object a line on stdout per event, the summary last; nothing else
  -h, --help           this text

Progress goes to stderr: a bar on a terminal, a line per change otherwise.

Exit codes:
  0  the job COMPLETED
  1  the job FAILED (the import failed or the job met an error) or was CANCELED
  2  usage error: a wrong option, a FILE that cannot be read (nothing was sent)
  3  the gateway could not be reached, or refused (authentication, permission, the upload)
  4  interrupted (SIGINT, SIGTERM): the upload's state is kept; run the same command to resume
`;

export const DEFAULT_GATEWAY = 'http://localhost:4000';
const DEFAULT_CHUNK_SIZE = 32 * 1024 * 1024;
const MIN_CHUNK_SIZE = 1024;
/** Node reads at most 2 GiB into one buffer; a request body is one chunk. */
const MAX_CHUNK_SIZE = 1024 * 1024 * 1024;
const MAX_NAME_LENGTH = 100;

export interface UploadCommand {
  command: 'upload';
  /** FILE as given (resolved against the working directory when read). */
  file: string;
  /** Required unless `resume` is set; with `resume`, the job's clientId must equal it. */
  clientId: string | undefined;
  /** The gateway's GraphQL endpoint. */
  graphqlUrl: URL;
  /** As given (`--token` or `BULK_IMPORT_TOKEN`); undefined: ask the development issuer. */
  token: string | undefined;
  format: RecordFormat;
  /** undefined: FILE's name. */
  name: string | undefined;
  execute: boolean;
  json: boolean;
  /** A job id to continue; undefined: the one remembered for FILE, or a new job. */
  resume: string | undefined;
  chunkSize: number;
}

export type Command = { command: 'help' } | UploadCommand;

const usageError = (message: string) => new ExitError(EXIT.USAGE, message);

/** What to do, from the arguments after the program's name and the environment. */
export function parseCommandLine(args: readonly string[], env: Readonly<Record<string, string | undefined>>): Command {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    throw usageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help || positionals[0] === 'help') return { command: 'help' };
  const [command, file, ...extra] = positionals;
  if (command === undefined) throw usageError('No command: bulk-import upload FILE --client ID');
  if (command !== 'upload') throw usageError(`Unknown command '${command}': the command is upload`);
  if (file === undefined || file === '') throw usageError('No FILE: bulk-import upload FILE --client ID');
  if (extra.length > 0) throw usageError(`Unexpected argument '${extra[0]}': upload takes one FILE`);

  const clientId = values.client;
  if (clientId === '') throw usageError('--client may not be empty');
  const resume = values.resume;
  if (resume === '') throw usageError('--resume needs a job id');
  if (resume === undefined && clientId === undefined) throw usageError('--client ID is required (or --resume JOB_ID)');
  if (resume !== undefined) {
    // A job is continued as it was created: what would create it differently does not apply.
    const creating = (['csv', 'name', 'execute'] as const).filter((option) => values[option] !== undefined);
    if (creating.length > 0) {
      throw usageError(
        `--resume continues a job as it was created: ${creating.map((option) => (option === 'execute' ? '--no-execute' : `--${option}`)).join(', ')} does not apply`,
      );
    }
  }
  const name = values.name;
  if (name !== undefined && (name.trim() === '' || name.length > MAX_NAME_LENGTH)) throw usageError(`--name must have 1 to ${MAX_NAME_LENGTH} characters`);

  const token = values.token ?? nonEmpty(env['BULK_IMPORT_TOKEN']);
  if (token !== undefined && token.trim() === '') throw usageError('--token may not be empty');

  return {
    command: 'upload',
    file,
    clientId,
    graphqlUrl: graphqlEndpoint(values.gateway ?? nonEmpty(env['BULK_IMPORT_GATEWAY']) ?? DEFAULT_GATEWAY),
    token,
    format: values.csv ? 'CSV' : 'NDJSON',
    name,
    execute: values.execute ?? true,
    json: values.json ?? false,
    resume,
    chunkSize: values['chunk-size'] === undefined ? DEFAULT_CHUNK_SIZE : byteCount(values['chunk-size']),
  };
}

function parse(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    options: {
      client: { type: 'string' },
      gateway: { type: 'string' },
      token: { type: 'string' },
      csv: { type: 'boolean' },
      name: { type: 'string' },
      execute: { type: 'boolean' },
      resume: { type: 'string' },
      'chunk-size': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    allowNegative: true,
    strict: true,
  });
}

const nonEmpty = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);

/**
 * The GraphQL endpoint of a gateway given by its origin (`http://host:4000`, the endpoint is
 * `/graphql` there) or by the endpoint itself (`…/graphql`).
 */
export function graphqlEndpoint(given: string): URL {
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw usageError(`--gateway must be an http(s) URL, got '${given}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw usageError(`--gateway must be an http(s) URL, got '${given}'`);
  if (url.username !== '' || url.password !== '') throw usageError('--gateway may not carry a user or password: use --token');
  url.search = '';
  url.hash = '';
  if (!/\/graphql$/.test(url.pathname)) url.pathname = `${url.pathname.replace(/\/$/, '')}/graphql`;
  return url;
}

/** `65536`, `64k`, `32m`, `1g` (binary multiples) → bytes, within the bounds of a chunk. */
export function byteCount(given: string): number {
  const match = /^(\d+)([kmg]?)$/i.exec(given.trim());
  const multiplier = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match?.[2] ?? '').toLowerCase() as '' | 'k' | 'm' | 'g'];
  const bytes = match ? Number(match[1]) * multiplier : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes < MIN_CHUNK_SIZE || bytes > MAX_CHUNK_SIZE) {
    throw usageError(`--chunk-size must be a number of bytes from 1k to 1g (k, m, g: binary multiples), got '${given}'`);
  }
  return bytes;
}
