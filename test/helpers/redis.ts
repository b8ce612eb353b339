import { type ChildProcess, spawn } from 'node:child_process';
import { freePort } from './ports.js';

export interface RedisServer {
  url: string;
  port: number;
  /** Stops the server (by pid) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty (no persistence). */
  restart(): Promise<void>;
}

/**
 * A real redis-server (from Debian's package) on a free loopback port, without persistence,
 * stopped by pid when the test is done.
 */
export async function startRedis(register: (dispose: () => unknown) => void): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;

  const launch = () =>
    new Promise<void>((resolve, reject) => {
      const started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = started;
      let output = '';
      started.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) resolve();
      });
      started.once('error', (error: NodeJS.ErrnoException) =>
        reject(error.code === 'ENOENT' ? new Error('redis-server is not installed: apt-get install -y redis-server (.ci/run does this)') : error),
      );
      started.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${output}`)));
    });

  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    process.kill(running.pid!, 'SIGKILL');
    await exited;
  };

  await launch();
  register(stop);
  return { url: `redis://127.0.0.1:${port}`, port, stop, restart: launch };
}
