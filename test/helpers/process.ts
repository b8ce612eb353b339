import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface StartedProcess {
  child: ChildProcess;
  /** Resolves with the first JSON log line matching `predicate`, whether it was written before the call or after. */
  waitForLog(predicate: (line: Record<string, any>) => boolean): Promise<Record<string, any>>;
  /** Resolves with the exit code (or signal) once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  stdout(): string;
}

/**
 * Runs a TypeScript entry point as its own process: one node process with tsx's loader (no
 * wrapper process), so a signal, SIGKILL included, reaches the program.
 */
export function startTsProcess(entry: string, env: Record<string, string>, register: (dispose: () => unknown) => void): StartedProcess {
  return startNodeProcess(['--import', 'tsx', entry], env, register);
}

/**
 * Runs `node <args>` from the repository root (or `cwd`), with only PATH, HOME and `env` in its
 * environment. A gateway locks its embedded store, and processes of parallel tests must not share
 * one: from the repository root, the process gets a `DATA_DIR` of its own (a fresh folder,
 * removed afterwards) unless `env` names one; in a `cwd` of the caller's, its default
 * (`./data` there) is left alone.
 */
export function startNodeProcess(
  args: string[],
  env: Record<string, string>,
  register: (dispose: () => unknown) => void,
  options: { cwd?: string } = {},
): StartedProcess {
  const dataDir = env['DATA_DIR'] === undefined && options.cwd === undefined ? mkdtempSync(join(tmpdir(), 'process-data-')) : undefined;
  const child = spawn(process.execPath, args, {
    cwd: options.cwd ?? new URL('../..', import.meta.url).pathname,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...(dataDir && { DATA_DIR: dataDir }), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  /** Every JSON line written so far: a waiter registered after its line arrived still finds it. */
  const lines: Record<string, any>[] = [];
  const waiters: Array<{ predicate: (line: Record<string, any>) => boolean; resolve: (line: Record<string, any>) => void }> = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  createInterface({ input: child.stdout! }).on('line', (text) => {
    out += `${text}\n`;
    let line: Record<string, any>;
    try {
      line = JSON.parse(text) as Record<string, any>;
    } catch {
      return;
    }
    lines.push(line);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  register(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
  return {
    child,
    exited,
    stderr: () => err,
    stdout: () => out,
    // The first line that matches, written before or after the call: two lines read in one chunk
    // are both past by the time a test that awaited the first asks for the second.
    waitForLog: (predicate) =>
      new Promise((resolve, reject) => {
        const written = lines.find(predicate);
        if (written) return resolve(written);
        waiters.push({ predicate, resolve });
        void exited.then(({ code }) => reject(new Error(`process exited (${code}) before the log line; stderr: ${err}`)));
      }),
  };
}
