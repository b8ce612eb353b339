/**
 * `bulk-import upload`: find or create the job for FILE, upload what the gateway has not staged,
 * follow the job to its end, and say how it ended — as events for the reporter and an exit code.
 *
 * Resuming: the job and its upload URL are kept in a state file per upload (`upload-state.ts`)
 * from the moment the job is created until it is seen to end; a run that finds one continues that
 * job (tus `HEAD` tells the offset), `--resume JOB_ID` names the job explicitly. Interrupted
 * (SIGINT, SIGTERM), it stops sending, keeps the state and exits 4.
 */
import { realpath, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { DEFAULT_GATEWAY, graphqlEndpoint, type UploadCommand } from './arguments.js';
import { EXIT, type ExitCode, ExitError } from './exit-codes.js';
import { PositionalFileSource } from './file-source.js';
import { type Authorization, developmentAuthorization, GatewayClient, GraphQLRequestError, givenAuthorization, type Job } from './gateway-client.js';
import { CreateImportJobDocument, ImportJobDocument } from './generated.js';
import { bytes, type CliEvent, endMessage, type RejectedLine, type Reporter } from './output.js';
import { type RunningUpload, startUpload } from './upload.js';
import { type UploadIdentity, type UploadState, UploadStateStore } from './upload-state.js';

export interface UploadContext {
  reporter: Reporter;
  /** Where upload states are kept. */
  stateDirectory: string;
  /** Aborted on SIGINT or SIGTERM. */
  interrupt: AbortSignal;
}

type Summary = Extract<CliEvent, { type: 'summary' }>;

const TERMINAL = new Set<Job['state']>(['COMPLETED', 'FAILED', 'CANCELED']);
const REJECTED_LINES_SHOWN = 20;

/** Runs the command to its end and reports the summary; the exit code is the summary's. */
export async function runUpload(command: UploadCommand, context: UploadContext): Promise<ExitCode> {
  const run = new UploadRun(command, context);
  let summary: Summary;
  try {
    summary = await run.execute();
  } catch (error) {
    if (!(error instanceof ExitError)) throw error;
    summary = run.failure(error);
  }
  context.reporter.report(summary);
  return summary.exitCode;
}

class UploadRun {
  private readonly store: UploadStateStore;
  private gateway: GatewayClient | undefined;
  private job: Job | undefined;
  private fileSize = 0;
  /** The upload offset last reported (the job's state may not show it yet). */
  private bytesStaged = 0;

  constructor(
    private readonly command: UploadCommand,
    private readonly context: UploadContext,
  ) {
    this.store = new UploadStateStore(context.stateDirectory);
  }

  async execute(): Promise<Summary> {
    const { command } = this;
    const file = await inspect(command.file);
    this.fileSize = file.size;
    const authorization: Authorization = command.token
      ? givenAuthorization(command.token)
      : developmentAuthorization(command.graphqlUrl, [command.clientId ?? '*']);
    const gateway = new GatewayClient(command.graphqlUrl, authorization);
    this.gateway = gateway;

    const { job, identity, action } = command.resume ? await this.resumeNamed(command.resume, file) : await this.findOrCreate(file);
    this.job = job;
    this.report({ type: 'job', action, file: command.file, bytesTotal: file.size, job });
    if (TERMINAL.has(job.state)) return this.ended(job, identity);
    if (this.context.interrupt.aborted) return this.interrupted();

    const source = await PositionalFileSource.open(file.path).catch((error: unknown) => {
      throw new ExitError(EXIT.USAGE, `cannot read ${command.file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    });
    const watcher = gateway.watch(job.id, (state) => {
      this.job = state;
      this.report({ type: 'state', job: state });
    });
    let upload: RunningUpload | undefined;
    try {
      if (job.state === 'CREATED' || job.state === 'STAGING') {
        upload = startUpload({
          uploadUrl: job.uploadUrl,
          source,
          chunkSize: command.chunkSize,
          authorization: () => gateway.header(),
          progress: {
            sent: (bytesSent) => this.context.reporter.bytesSent(bytesSent, file.size),
            staged: (bytesStaged, bytesSent) => {
              this.bytesStaged = bytesStaged;
              this.report({ type: 'upload', bytesSent, bytesStaged, bytesTotal: file.size });
            },
          },
        });
      }
      const interrupted = new Promise<'interrupted'>((resolve) => {
        if (this.context.interrupt.aborted) resolve('interrupted');
        this.context.interrupt.addEventListener('abort', () => resolve('interrupted'), { once: true });
      });
      // The upload's end is an event on the way; its failure ends the run unless the job ended too.
      const uploadFailed = new Promise<ExitError>((resolve) => {
        upload?.done.then(() => this.report({ type: 'uploaded', bytesTotal: file.size }), resolve);
      });
      const first = await Promise.race([watcher.finished, interrupted, uploadFailed]);
      if (first === 'interrupted') return this.interrupted();
      if (first instanceof ExitError) {
        // A refused upload may be a job that ended (cancelled, failed): then that is the outcome.
        const current = await this.query(job.id).catch(() => undefined);
        if (current && TERMINAL.has(current.state)) return this.ended(current, identity);
        throw first;
      }
      return this.ended(first, identity);
    } finally {
      await upload?.abort();
      watcher.close();
      source.close();
    }
  }

  /** The summary of a run that stopped on an error: the upload's state is kept when there is a job. */
  failure(error: ExitError): Summary {
    const job = this.job;
    const kept = job && !TERMINAL.has(job.state) && error.exitCode !== EXIT.USAGE;
    return {
      type: 'summary',
      outcome: 'ERROR',
      exitCode: error.exitCode,
      message: error.message,
      ...(job && { job }),
      ...(kept && { resume: this.resumeHint(job) }),
    };
  }

  private interrupted(): Summary {
    const job = this.job;
    if (!job)
      return { type: 'summary', outcome: 'INTERRUPTED', exitCode: EXIT.INTERRUPTED, message: 'Interrupted before a job was created: nothing to resume' };
    return {
      type: 'summary',
      outcome: 'INTERRUPTED',
      exitCode: EXIT.INTERRUPTED,
      message: `Interrupted: job ${job.id} is ${job.state}, ${bytes(Math.max(job.bytesStaged, this.bytesStaged))} of ${bytes(this.fileSize)} staged; its upload is kept: run the same command again to resume`,
      job,
      resume: this.resumeHint(job),
    };
  }

  /** A job that ended: its state is forgotten, the rejected lines are listed. */
  private async ended(job: Job, identity: UploadIdentity): Promise<Summary> {
    this.job = job;
    await this.store.remove(identity);
    let rejectedLines: RejectedLine[] | undefined;
    if (job.recordsRejected > 0) {
      const read = await this.query(job.id, REJECTED_LINES_SHOWN).catch(() => undefined);
      rejectedLines = read?.rejectedLines.edges.map(({ node }) => ({ line: node.line, reason: node.reason }));
    }
    const outcome = job.state === 'COMPLETED' ? 'COMPLETED' : job.state === 'CANCELED' ? 'CANCELED' : 'FAILED';
    return {
      type: 'summary',
      outcome,
      exitCode: outcome === 'COMPLETED' ? EXIT.COMPLETED : EXIT.FAILED,
      message: endMessage(job),
      job,
      ...(rejectedLines && rejectedLines.length > 0 && { rejectedLines }),
    };
  }

  /** The job remembered for FILE (still known to the gateway), or a new one. */
  private async findOrCreate(file: FileFacts): Promise<{ job: Job; identity: UploadIdentity; action: 'created' | 'resumed' }> {
    const { command } = this;
    const identity = this.identity(file, { clientId: command.clientId!, format: command.format, execute: command.execute });
    const saved = await this.store.read(identity).catch(() => undefined);
    if (saved) {
      try {
        return { job: await this.query(saved.jobId), identity, action: 'resumed' };
      } catch (error) {
        // A job the gateway no longer knows (another store, purged) is not resumed: a new one starts.
        if (!(error instanceof GraphQLRequestError && error.code === 'NOT_FOUND')) throw error;
      }
    }
    const { createImportJob: job } = await this.gateway!.request('createImportJob', CreateImportJobDocument, {
      clientId: identity.clientId,
      input: { name: command.name ?? defaultName(command.file) },
      format: identity.format,
      execute: identity.execute,
    });
    await this.remember(identity, job);
    return { job, identity, action: 'created' };
  }

  /** `--resume JOB_ID`: that job, if FILE can be its file. */
  private async resumeNamed(jobId: string, file: FileFacts): Promise<{ job: Job; identity: UploadIdentity; action: 'resumed' }> {
    const job = await this.query(jobId);
    if (this.command.clientId !== undefined && this.command.clientId !== job.clientId) {
      throw new ExitError(EXIT.USAGE, `job ${jobId} imports into client ${job.clientId}, not ${this.command.clientId}`);
    }
    if (job.uploadLength !== null && job.uploadLength !== file.size) {
      throw new ExitError(EXIT.USAGE, `job ${jobId} uploads ${job.uploadLength} bytes, but ${this.command.file} has ${file.size}: not its file`);
    }
    const identity = this.identity(file, job);
    if (!TERMINAL.has(job.state)) await this.remember(identity, job);
    return { job, identity, action: 'resumed' };
  }

  private identity(file: FileFacts, job: Pick<Job, 'format' | 'execute'> & { clientId: string }): UploadIdentity {
    return {
      path: file.path,
      size: file.size,
      mtimeMs: file.mtimeMs,
      gateway: this.command.graphqlUrl.href,
      clientId: job.clientId,
      format: job.format,
      execute: job.execute,
    };
  }

  private async remember(identity: UploadIdentity, job: Job): Promise<void> {
    const state: UploadState = { ...identity, jobId: job.id, uploadUrl: job.uploadUrl, savedAt: new Date().toISOString() };
    try {
      await this.store.write(state);
    } catch (error) {
      // The upload can go on; only a later run could not find it.
      this.context.reporter.notice(
        `cannot keep the upload's state in ${this.store.directory} (${(error as NodeJS.ErrnoException).code ?? String(error)}): resume with --resume ${job.id}`,
      );
    }
  }

  private async query(jobId: string, firstRejected = 1) {
    const { importJob } = await this.gateway!.request('importJob', ImportJobDocument, { id: jobId, firstRejected });
    return importJob;
  }

  private resumeHint(job: Job): string {
    const gateway = this.command.graphqlUrl.href === graphqlEndpoint(DEFAULT_GATEWAY).href ? '' : ` --gateway ${this.command.graphqlUrl.origin}`;
    return `bulk-import upload ${shellWord(this.command.file)} --resume ${job.id}${gateway}`;
  }

  private report(event: CliEvent): void {
    this.context.reporter.report(event);
  }
}

interface FileFacts {
  path: string;
  size: number;
  mtimeMs: number;
}

/** FILE's real path, size and modification time; a usage error when it is no readable file. */
async function inspect(file: string): Promise<FileFacts> {
  try {
    const path = await realpath(file);
    const facts = await stat(path);
    if (!facts.isFile()) throw new ExitError(EXIT.USAGE, `${file} is not a file`);
    return { path, size: facts.size, mtimeMs: facts.mtimeMs };
  } catch (error) {
    if (error instanceof ExitError) throw error;
    throw new ExitError(EXIT.USAGE, `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/** FILE's name, as the import's name (1 to 100 characters). */
function defaultName(file: string): string {
  return basename(file).slice(0, 100) || 'bulk-import';
}

/** `word` as one shell word. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
