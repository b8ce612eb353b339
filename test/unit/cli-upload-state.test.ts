import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultStateDirectory, type UploadIdentity, UploadStateStore } from '../../src/cli/upload-state.js';

/** What lets `bulk-import upload` resume: one small file per upload, found again by the same upload only. */
describe('bulk-import upload state', () => {
  const directories: string[] = [];
  afterEach(() => {
    for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
  });
  const store = () => {
    const directory = mkdtempSync(join(tmpdir(), 'cli-state-'));
    directories.push(directory);
    return new UploadStateStore(join(directory, 'uploads'));
  };
  const identity: UploadIdentity = {
    path: '/data/people.ndjson',
    size: 1234,
    mtimeMs: 1_700_000_000_000,
    gateway: 'http://localhost:4000/graphql',
    clientId: 'demo',
    format: 'NDJSON',
    execute: true,
  };
  const saved = { ...identity, jobId: 'job-1', uploadUrl: 'http://localhost:4000/uploads/job-1', savedAt: '2025-01-01T00:00:00.000Z' };

  it('finds what it wrote for the same upload, and forgets it when removed', async () => {
    const states = store();
    expect(await states.read(identity)).toBeUndefined();
    await states.write(saved);
    expect(await states.read(identity)).toEqual(saved);
    await states.remove(identity);
    expect(await states.read(identity)).toBeUndefined();
    await states.remove(identity);
  });

  it('keys the state by the file and the target: a changed file, another gateway, client, format or execute starts afresh', async () => {
    const states = store();
    await states.write(saved);
    for (const other of [
      { path: '/data/other.ndjson' },
      { size: 1235 },
      { mtimeMs: 1_700_000_000_001 },
      { gateway: 'http://elsewhere:4000/graphql' },
      { clientId: 'acme' },
      { format: 'CSV' as const },
      { execute: false },
    ]) {
      expect(await states.read({ ...identity, ...other })).toBeUndefined();
    }
  });

  it('writes a file its owner alone may read, with no token in it and no temporary file left', async () => {
    const states = store();
    await states.write(saved);
    const path = states.pathOf(identity);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(states.directory)).toEqual([path.split('/').pop()]);
    const written = JSON.parse(readFileSync(path, 'utf8'));
    expect(written).toMatchObject({ version: 1, jobId: 'job-1', uploadUrl: saved.uploadUrl, file: identity.path });
    expect(Object.keys(written).some((key) => /token|authorization/i.test(key))).toBe(false);
  });

  it('ignores a state file it cannot read rather than failing', async () => {
    const states = store();
    await states.write(saved);
    writeFileSync(states.pathOf(identity), '{ not json');
    expect(await states.read(identity)).toBeUndefined();
    writeFileSync(states.pathOf(identity), JSON.stringify({ version: 99, jobId: 'x', uploadUrl: 'y' }));
    expect(await states.read(identity)).toBeUndefined();
  });

  it('lives in the XDG cache directory, else in ~/.cache', () => {
    expect(defaultStateDirectory({ XDG_CACHE_HOME: '/var/cache/me' }, '/home/me')).toBe('/var/cache/me/bulk-import-gateway/uploads');
    expect(defaultStateDirectory({}, '/home/me')).toBe('/home/me/.cache/bulk-import-gateway/uploads');
    // The XDG spec ignores a relative path.
    expect(defaultStateDirectory({ XDG_CACHE_HOME: 'relative' }, '/home/me')).toBe('/home/me/.cache/bulk-import-gateway/uploads');
  });
});
