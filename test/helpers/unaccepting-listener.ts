import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

/**
 * A loopback port whose listener never accepts, with its accept queue already full: a connection
 * attempt to it gets no answer at all, so the client's connect timeout is what ends it. Node
 * accepts connections by itself, so the listener is a tiny python3 process (listen(0), no accept).
 */
export async function startUnacceptingListener(register: (dispose: () => unknown) => void): Promise<{ port: number }> {
  const listener = spawn(
    'python3',
    ['-c', "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(0)\nprint(s.getsockname()[1], flush=True)\ntime.sleep(3600)"],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  register(() => listener.kill('SIGKILL'));
  const port = await new Promise<number>((resolve) => createInterface({ input: listener.stdout! }).once('line', (line) => resolve(Number(line))));
  // One connection fills the queue of a listen(0) socket; later SYNs are dropped.
  const filler: Socket = connect(port, '127.0.0.1');
  filler.on('error', () => undefined);
  register(() => filler.destroy());
  await new Promise((resolve) => filler.once('connect', resolve));
  return { port };
}
