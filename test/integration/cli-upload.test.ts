import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, ExitError } from '../../src/cli/exit-codes.js';
import { PositionalFileSource } from '../../src/cli/file-source.js';
import { startUpload } from '../../src/cli/upload.js';
import { useCleanup } from '../helpers/cleanup.js';

/**
 * The CLI's upload through tus-js-client against a small tus server that behaves as the gateway
 * promises: it keeps only whole lines of each request (its offset may be less than what was sent),
 * answers HEAD with the offset, and learns the length from the last request.
 */
describe('bulk-import upload (tus)', () => {
  const register = useCleanup();

  interface Patch {
    offset: number;
    sent: number;
    kept: number;
    uploadLength: string | undefined;
  }

  async function tusServer(
    options: { staged?: Buffer; declared?: number; refuse?: { status: number; code: string }; refusePatches?: { status: number; code: string } } = {},
  ) {
    let received = options.staged ?? Buffer.alloc(0);
    let uploadLength = options.declared;
    const patches: Patch[] = [];
    const heads: number[] = [];
    const server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      if (request.headers['authorization'] !== 'Bearer test-token' || options.refuse) {
        const { status, code } = options.refuse ?? { status: 401, code: 'UNAUTHENTICATED' };
        response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ message: 'not you', extensions: { code } }] }));
        return;
      }
      if (request.method === 'HEAD') {
        heads.push(received.length);
        const length = uploadLength === undefined ? { 'upload-defer-length': '1' } : { 'upload-length': String(uploadLength) };
        response.writeHead(200, { 'tus-resumable': '1.0.0', 'upload-offset': String(received.length), 'cache-control': 'no-store', ...length }).end();
        return;
      }
      if (options.refusePatches) {
        const { status, code } = options.refusePatches;
        response
          .writeHead(status, { 'content-type': 'application/json' })
          .end(JSON.stringify({ errors: [{ message: 'too much at once', extensions: { code } }] }));
        return;
      }
      const offset = Number(request.headers['upload-offset']);
      if (offset !== received.length) {
        response.writeHead(409).end();
        return;
      }
      const declared = request.headers['upload-length'] as string | undefined;
      // As @tus/server: once set, the length may not be sent again.
      if (declared !== undefined && uploadLength !== undefined) {
        response.writeHead(400).end('Upload-Length or Upload-Defer-Length header required\n');
        return;
      }
      if (declared !== undefined) uploadLength = Number(declared);
      const last = uploadLength !== undefined && offset + body.length === uploadLength;
      const kept = last ? body.length : body.lastIndexOf(0x0a) + 1;
      received = Buffer.concat([received, body.subarray(0, kept)]);
      patches.push({ offset, sent: body.length, kept, uploadLength: declared });
      response.writeHead(204, { 'tus-resumable': '1.0.0', 'upload-offset': String(received.length) }).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    register(() => new Promise((resolve) => server.close(resolve)));
    const { port } = server.address() as AddressInfo;
    return { uploadUrl: `http://127.0.0.1:${port}/uploads/job-1`, received: () => received, patches, heads };
  }

  function recordsFile(lines: number) {
    const directory = mkdtempSync(join(tmpdir(), 'cli-upload-'));
    register(() => rmSync(directory, { recursive: true, force: true }));
    const path = join(directory, 'records.ndjson');
    writeFileSync(path, Array.from({ length: lines }, (_, i) => `${JSON.stringify({ ProfileId: `p-${i + 1}` })}\n`).join(''));
    return path;
  }

  async function upload(uploadUrl: string, path: string, chunkSize: number) {
    const source = await PositionalFileSource.open(path);
    register(() => source.close());
    const staged: number[] = [];
    const running = startUpload({
      uploadUrl,
      source,
      chunkSize,
      authorization: async () => 'Bearer test-token',
      progress: { sent: () => {}, staged: (offset) => staged.push(offset) },
    });
    register(() => running.abort());
    return { done: running.done, staged };
  }

  it('sends every byte once, in order, re-reading from each smaller offset the server answers, and declares the length', async () => {
    const server = await tusServer();
    const path = recordsFile(2000);
    const file = readFileSync(path);
    const { done, staged } = await upload(server.uploadUrl, path, 1024);
    await done;
    expect(server.received().equals(file)).toBe(true);
    expect(server.heads).toEqual([0]);
    expect(server.patches.length).toBeGreaterThan(file.length / 1024);
    // Lines cut at a chunk's end were sent again from the line's start.
    expect(server.patches.filter((patch) => patch.kept < patch.sent).length).toBeGreaterThan(10);
    // The first PATCH declares the length, known from the start; no other repeats it.
    expect(server.patches.map((patch) => patch.uploadLength)).toEqual([String(file.length), ...server.patches.slice(1).map(() => undefined)]);
    expect(staged.at(-1)).toBe(file.length);
  });

  it('resumes where a previous process left off: HEAD, then on from the staged offset', async () => {
    const path = recordsFile(500);
    const file = readFileSync(path);
    const cut = file.indexOf(0x0a, file.length / 2) + 1;
    const server = await tusServer({ staged: file.subarray(0, cut) });
    await (await upload(server.uploadUrl, path, 64 * 1024)).done;
    expect(server.heads).toEqual([cut]);
    expect(server.patches[0]!.offset).toBe(cut);
    expect(server.received().equals(file)).toBe(true);
  });

  it('never declares the length again when an earlier process did', async () => {
    const path = recordsFile(500);
    const file = readFileSync(path);
    const cut = file.indexOf(0x0a, file.length / 2) + 1;
    const server = await tusServer({ staged: file.subarray(0, cut), declared: file.length });
    await (await upload(server.uploadUrl, path, 2 * 1024)).done;
    expect(server.received().equals(file)).toBe(true);
    expect(server.patches.length).toBeGreaterThan(1);
    expect(server.patches.map((patch) => patch.uploadLength).filter(Boolean)).toEqual([]);
  });

  it('succeeds at once when the server has everything already', async () => {
    const path = recordsFile(10);
    const file = readFileSync(path);
    const server = await tusServer({ staged: file });
    await (await upload(server.uploadUrl, path, 64 * 1024)).done;
    // The length was never declared (no request arrived with it): one empty request declares it.
    expect(server.patches).toEqual([{ offset: file.length, sent: 0, kept: 0, uploadLength: String(file.length) }]);
  });

  it("turns the gateway's refusal into one line with its status and code (exit 3)", async () => {
    const server = await tusServer({ refuse: { status: 403, code: 'FORBIDDEN' } });
    const { done } = await upload(server.uploadUrl, recordsFile(10), 64 * 1024);
    const error = await done.then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(ExitError);
    // The first request is a HEAD, whose refusal has no body.
    expect(error).toMatchObject({ exitCode: EXIT.GATEWAY, message: 'the gateway refused the upload (HTTP 403 Forbidden)' });
  });

  it("adds the refusal's code and message when the answer has them", async () => {
    const server = await tusServer({ refusePatches: { status: 413, code: 'BAD_USER_INPUT' } });
    const { done } = await upload(server.uploadUrl, recordsFile(10), 64 * 1024);
    await expect(done).rejects.toMatchObject({
      exitCode: EXIT.GATEWAY,
      message: 'the gateway refused the upload (HTTP 413 Payload Too Large: BAD_USER_INPUT: too much at once)',
    });
  });

  it('gives up, naming --chunk-size, when a line is longer than a chunk and nothing is staged', async () => {
    const server = await tusServer();
    const directory = mkdtempSync(join(tmpdir(), 'cli-upload-'));
    register(() => rmSync(directory, { recursive: true, force: true }));
    const path = join(directory, 'long.ndjson');
    writeFileSync(path, `${JSON.stringify({ ProfileId: 'p-1', Note: 'x'.repeat(4000) })}\n{"ProfileId":"p-2"}\n`);
    const { done } = await upload(server.uploadUrl, path, 1024);
    await expect(done).rejects.toMatchObject({ exitCode: EXIT.GATEWAY, message: expect.stringMatching(/longer than --chunk-size \(1024 bytes\)/) });
    expect(server.patches.map((patch) => patch.kept)).toEqual([0, 0, 0]);
  });
});
