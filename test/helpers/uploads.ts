import { connect } from 'node:net';
import { Upload } from 'tus-js-client';
import { validRecord } from './records.js';

/** An NDJSON file of `count` records (`p-1` …), one a line, with what each line's end offset is. */
export function ndjsonFile(count: number, line: (index: number) => string = (index) => JSON.stringify(validRecord(index))) {
  const lines = Array.from({ length: count }, (_, index) => line(index + 1));
  const bytes = Buffer.from(`${lines.join('\n')}\n`);
  const lineEnds = new Set<number>();
  let offset = 0;
  for (const text of lines) {
    offset += Buffer.byteLength(text) + 1;
    lineEnds.add(offset);
  }
  return { bytes, lineEnds };
}

export interface TusUploadOptions {
  authorization: string;
  /** @default the whole file in one PATCH */
  chunkSize?: number;
  /** @default [0, 200, 500, 1000, 2000] */
  retryDelays?: number[];
}

/** Uploads `bytes` to an import job's `uploadUrl` with tus-js-client (resuming from the server's offset first, as a client resuming does). */
export function tusUpload(uploadUrl: string, bytes: Buffer, options: TusUploadOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const upload = new Upload(bytes, {
      uploadUrl,
      uploadLengthDeferred: true,
      headers: { Authorization: options.authorization },
      retryDelays: options.retryDelays ?? [0, 200, 500, 1000, 2000],
      ...(options.chunkSize !== undefined && { chunkSize: options.chunkSize }),
      onError: reject,
      onSuccess: () => resolve(),
    });
    upload.start();
  });
}

/** A tus request made by hand, for what a client library hides (a body cut mid-way, a refusal's answer). */
export async function tusRequest(
  uploadUrl: string,
  method: 'HEAD' | 'PATCH' | 'OPTIONS' | 'POST' | 'DELETE',
  headers: Record<string, string>,
  body?: Buffer,
): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(uploadUrl, {
    method,
    headers: { 'tus-resumable': '1.0.0', ...(body && { 'content-type': 'application/offset+octet-stream' }), ...headers },
    ...(body && { body: new Uint8Array(body) }),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** A PATCH that sends its headers and the first `sent` bytes of `body`, then holds the connection open until `close()`. */
export function heldPatch(uploadUrl: string, authorization: string, body: Buffer, sent: number): { close: () => void } {
  const url = new URL(uploadUrl);
  const socket = connect({ host: url.hostname, port: Number(url.port) }, () => {
    socket.write(
      [
        `PATCH ${url.pathname} HTTP/1.1`,
        `Host: ${url.host}`,
        'Tus-Resumable: 1.0.0',
        'Content-Type: application/offset+octet-stream',
        'Upload-Offset: 0',
        `Upload-Length: ${body.length}`,
        `Authorization: ${authorization}`,
        `Content-Length: ${body.length}`,
        '',
        '',
      ].join('\r\n'),
    );
    socket.write(body.subarray(0, sent));
  });
  socket.on('error', () => {});
  return { close: () => socket.destroy() };
}

/**
 * A PATCH whose connection is cut after `sent` bytes of its body (it declares the whole of `body`):
 * the client that lost its connection mid-upload. Resolves once the gateway has closed its side.
 */
export function cutPatch(uploadUrl: string, authorization: string, offset: number, body: Buffer, sent: number, uploadLength?: number): Promise<void> {
  const url = new URL(uploadUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) }, () => {
      const head = [
        `PATCH ${url.pathname} HTTP/1.1`,
        `Host: ${url.host}`,
        'Tus-Resumable: 1.0.0',
        'Content-Type: application/offset+octet-stream',
        `Upload-Offset: ${offset}`,
        ...(uploadLength === undefined ? [] : [`Upload-Length: ${uploadLength}`]),
        `Authorization: ${authorization}`,
        `Content-Length: ${body.length}`,
        '',
        '',
      ].join('\r\n');
      socket.write(head);
      socket.write(body.subarray(0, sent), () => socket.destroy());
    });
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
}
