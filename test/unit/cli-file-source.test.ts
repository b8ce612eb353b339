import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileChangedError, PositionalFileSource } from '../../src/cli/file-source.js';

/** FILE as tus-js-client's source: any range, again and again, the last one marked done. */
describe('bulk-import file source', () => {
  const directories: string[] = [];
  afterEach(() => {
    for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
  });
  const fileWith = (content: string) => {
    const directory = mkdtempSync(join(tmpdir(), 'cli-source-'));
    directories.push(directory);
    const path = join(directory, 'records.ndjson');
    writeFileSync(path, content);
    return path;
  };
  const text = async (source: PositionalFileSource, start: number, end: number) => {
    const { value, done } = await source.slice(start, end);
    expect(value.size).toBe(value.length);
    return { text: value.toString(), done };
  };

  it('reads any range, marks the one reaching the end done, and reads a range again from a smaller offset', async () => {
    const source = await PositionalFileSource.open(fileWith('0123456789'));
    try {
      expect(source.size).toBe(10);
      expect(await text(source, 0, 4)).toEqual({ text: '0123', done: false });
      expect(await text(source, 4, 8)).toEqual({ text: '4567', done: false });
      // The server kept fewer bytes than were sent: the next slice starts before the last one ended.
      expect(await text(source, 6, 10)).toEqual({ text: '6789', done: true });
      // A fresh process resuming at an offset reads from there; a slice past the end is clipped.
      expect(await text(source, 7, 7 + 32 * 1024 * 1024)).toEqual({ text: '789', done: true });
      expect(await text(source, 10, 20)).toEqual({ text: '', done: true });
    } finally {
      source.close();
    }
  });

  it('marks an empty file done at once', async () => {
    const source = await PositionalFileSource.open(fileWith(''));
    expect(await text(source, 0, 1024)).toEqual({ text: '', done: true });
    source.close();
  });

  it('fails, rather than send a short chunk, when the file became shorter', async () => {
    const path = fileWith('0123456789');
    const source = await PositionalFileSource.open(path);
    truncateSync(path, 5);
    await expect(source.slice(4, 10)).rejects.toBeInstanceOf(FileChangedError);
    source.close();
  });
});
