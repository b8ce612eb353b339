/**
 * FILE as tus-js-client's source: any byte range, read from the file when asked.
 *
 * tus-js-client's own sources do not fit a resumable upload whose length is deferred and whose
 * server may accept fewer bytes than were sent (the gateway keeps only whole records): its
 * `fs.ReadStream` source marks a slice as the last only when the slice is as long as the whole
 * file, so with a deferred length it declares a wrong `Upload-Length` after a resume, or never
 * declares one; its stream source keeps only the last slice, so it cannot start from the offset a
 * fresh process learns from `HEAD`. This one reads `[start, end)` with positional reads on every
 * slice, so a chunk re-sent from a smaller offset, or an upload resumed by another process, reads
 * the same bytes again; it holds one chunk in memory.
 */
import { type FileHandle, open } from 'node:fs/promises';

/** A slice as tus-js-client's Node HTTP stack sends it: a Buffer with its `size`. */
type SizedBuffer = Buffer & { size: number };

export interface FileSource {
  size: number;
  slice(start: number, end: number): Promise<{ value: SizedBuffer; done: boolean }>;
  close(): void;
}

/** FILE changed (shorter than when the upload started) while it was being uploaded. */
export class FileChangedError extends Error {
  override readonly name = 'FileChangedError';
}

export class PositionalFileSource implements FileSource {
  private constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<PositionalFileSource> {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      return new PositionalFileSource(handle, size);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Bytes `[start, min(end, size))`; `done` when they reach the end of the file. */
  async slice(start: number, end: number): Promise<{ value: SizedBuffer; done: boolean }> {
    const stop = Math.min(end, this.size);
    const buffer = Buffer.alloc(Math.max(0, stop - start)) as SizedBuffer;
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await this.handle.read(buffer, filled, buffer.length - filled, start + filled);
      if (bytesRead === 0) throw new FileChangedError(`the file became shorter while uploading (${start + filled} of ${this.size} bytes)`);
      filled += bytesRead;
    }
    buffer.size = buffer.length;
    return { value: buffer, done: stop >= this.size };
  }

  close(): void {
    void this.handle.close().catch(() => {});
  }
}
