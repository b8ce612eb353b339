/**
 * Child processes of the bench: every one is `node <entry>.js` (the contenders, compiled as
 * production runs them) or `node --import tsx <entry>.ts` (the bench's own helpers), spawned
 * directly (no shell, no npm, no tsx wrapper), so its pid is the program's and a kill reaches it. Every child
 * is registered here and killed by {@link killAll} on the way out, whatever the way out is.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The repository root (`bench/..`): the working directory of every child. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface NodeProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the first JSON line on stdout that satisfies `predicate`; rejects if the process exits first or after `timeoutMs`. */
  waitForLine(predicate: (line: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>>;
  /** Resolves with the first IPC message that satisfies `predicate` (IPC children only). */
  waitForMessage<T>(predicate: (message: Record<string, unknown>) => boolean, timeoutMs: number): Promise<T>;
  /** Sends an IPC message (IPC children only); false when the channel is gone. */
  send(message: unknown): boolean;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last few KB of stderr, for error messages. */
  stderrTail(): string;
  /** SIGKILL (or `signal`) unless already gone; resolves when it has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const running = new Set<NodeProcess>();

export interface StartOptions {
  env: Record<string, string>;
  /** Open an IPC channel (advanced serialisation: typed arrays travel as such). */
  ipc?: boolean;
  /** Extra node flags before the entry (e.g. `--cpu-prof`). */
  nodeFlags?: string[];
  /** Echo stderr to ours (prefixed with the name). */
  echoStderr?: boolean;
}

/** Spawns `node [--import tsx] <entry>` in the repository root with a clean environment plus `env`. */
export function startNode(name: string, entry: string, options: StartOptions): NodeProcess {
  const loader = entry.endsWith('.ts') ? ['--import', 'tsx'] : [];
  return startProgram(name, process.execPath, [...(options.nodeFlags ?? []), ...loader, entry], options);
}

/** Spawns `command args…` (no shell) in the repository root with a clean environment plus `env`, registered for {@link killAll}. */
export function startProgram(name: string, command: string, args: readonly string[], options: StartOptions): NodeProcess {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe', ...(options.ipc ? (['ipc'] as const) : [])],
    ...(options.ipc && { serialization: 'advanced' as const }),
  });
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  const pid = child.pid;
  let stderr = '';
  const lineWaiters = new Set<{ predicate: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void }>();
  const messageWaiters = new Set<{ predicate: (message: Record<string, unknown>) => boolean; resolve: (message: unknown) => void }>();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  child.on('error', () => undefined); // spawn errors surface as the exit

  createInterface({ input: child.stdout! }).on('line', (text) => {
    if (!text.startsWith('{')) return;
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    for (const waiter of lineWaiters) {
      if (waiter.predicate(line)) {
        lineWaiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8192);
    if (options.echoStderr) process.stderr.write(`[${name}] ${chunk.toString()}`);
  });
  child.on('message', (message: unknown) => {
    if (typeof message !== 'object' || message === null) return;
    for (const waiter of messageWaiters) {
      if (waiter.predicate(message as Record<string, unknown>)) {
        messageWaiters.delete(waiter);
        waiter.resolve(message);
      }
    }
  });

  const wait = <T>(register: (resolve: (value: T) => void) => () => void, timeoutMs: number, what: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        unregister();
        reject(new Error(`${name}: no ${what} within ${timeoutMs} ms; stderr: ${stderr.slice(-1500)}`));
      }, timeoutMs);
      const unregister = register((value) => {
        clearTimeout(timer);
        resolve(value);
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        unregister();
        reject(new Error(`${name} exited (${code ?? signal}) before ${what}; stderr: ${stderr.slice(-1500)}`));
      });
    });

  const handle: NodeProcess = {
    name,
    child,
    pid,
    exited,
    stderrTail: () => stderr,
    send: (message) => (child.connected ? child.send(message as never) : false),
    waitForLine: (predicate, timeoutMs) =>
      wait<Record<string, unknown>>(
        (resolve) => {
          const waiter = { predicate, resolve };
          lineWaiters.add(waiter);
          return () => lineWaiters.delete(waiter);
        },
        timeoutMs,
        'expected output line',
      ),
    waitForMessage: <T>(predicate: (message: Record<string, unknown>) => boolean, timeoutMs: number) =>
      wait<T>(
        (resolve) => {
          const waiter = { predicate, resolve: resolve as (message: unknown) => void };
          messageWaiters.add(waiter);
          return () => messageWaiters.delete(waiter);
        },
        timeoutMs,
        'expected message',
      ),
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
      running.delete(handle);
    },
  };
  running.add(handle);
  void exited.then(() => running.delete(handle));
  return handle;
}

/** Kills every child still running (SIGKILL) and waits for them. */
export async function killAll(): Promise<void> {
  await Promise.all([...running].map((child) => child.kill('SIGKILL')));
}

/** Synchronous last resort for `process.on('exit')`: signal every child still running. */
export function killAllNow(): void {
  for (const handle of running) {
    if (handle.child.exitCode === null && handle.child.signalCode === null) handle.child.kill('SIGKILL');
  }
}
