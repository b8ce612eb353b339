/**
 * What lets `bulk-import upload` resume: per file, the job it created and that job's upload URL,
 * in a small JSON file under `$XDG_CACHE_HOME/bulk-import-gateway/uploads/` (default
 * `~/.cache/…`). The file is named after a hash of what identifies the upload — FILE's real path,
 * size and modification time, the gateway, the clientId, the format and whether it executes — so
 * the same command on the same unchanged file finds it, and a changed file or another target
 * starts a new job. The token is never written.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RecordFormat } from './generated.js';

/** What identifies one upload of one file. */
export interface UploadIdentity {
  /** FILE's real path (absolute, links resolved). */
  path: string;
  size: number;
  mtimeMs: number;
  /** The gateway's GraphQL endpoint. */
  gateway: string;
  clientId: string;
  format: RecordFormat;
  execute: boolean;
}

export interface UploadState extends UploadIdentity {
  jobId: string;
  uploadUrl: string;
  /** When the job was created (or first resumed from this machine). */
  savedAt: string;
}

const STATE_VERSION = 1;

/** `$XDG_CACHE_HOME/bulk-import-gateway/uploads`, or `~/.cache/bulk-import-gateway/uploads`. */
export function defaultStateDirectory(env: Readonly<Record<string, string | undefined>>, home: string): string {
  const xdg = env['XDG_CACHE_HOME'];
  // The XDG spec ignores a relative path.
  const cache = xdg?.startsWith('/') ? xdg : join(home, '.cache');
  return join(cache, 'bulk-import-gateway', 'uploads');
}

export class UploadStateStore {
  constructor(readonly directory: string) {}

  /** The state file of one upload. */
  pathOf(identity: UploadIdentity): string {
    const key = JSON.stringify([identity.path, identity.size, identity.mtimeMs, identity.gateway, identity.clientId, identity.format, identity.execute]);
    return join(this.directory, `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.json`);
  }

  /** The remembered upload of `identity`, or undefined (none, or a file this version cannot read). */
  async read(identity: UploadIdentity): Promise<UploadState | undefined> {
    let text: string;
    try {
      text = await readFile(this.pathOf(identity), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const saved = JSON.parse(text) as Partial<UploadState> & { version?: number };
      if (saved.version !== STATE_VERSION || typeof saved.jobId !== 'string' || typeof saved.uploadUrl !== 'string') return undefined;
      return { ...identity, jobId: saved.jobId, uploadUrl: saved.uploadUrl, savedAt: String(saved.savedAt) };
    } catch {
      return undefined;
    }
  }

  /** Writes the state whole or not at all (a temporary file renamed over it), readable by its owner only. */
  async write(state: UploadState): Promise<void> {
    await mkdir(this.directory, { recursive: true, mode: 0o700 });
    const path = this.pathOf(state);
    const temporary = `${path}.${process.pid}.tmp`;
    const { path: file, size, mtimeMs, gateway, clientId, format, execute, jobId, uploadUrl, savedAt } = state;
    const body = { version: STATE_VERSION, jobId, uploadUrl, savedAt, file, size, mtimeMs, gateway, clientId, format, execute };
    await writeFile(temporary, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, path);
  }

  /** Forgets the upload of `identity` (its job ended): the next run starts a new job. */
  async remove(identity: UploadIdentity): Promise<void> {
    await rm(this.pathOf(identity), { force: true });
  }
}
