import { type StartedProcess, startNodeProcess } from './process.js';

/** What a flood's callers were answered, error codes counted (with `retryAfterSeconds` when given). */
export interface FloodTally {
  answered: number;
  codes: Record<string, number>;
}

export interface HttpFlood {
  /** Resolves with the first tally (a line the flood prints whenever a new code appears) matching `predicate`. */
  reached(predicate: (tally: FloodTally) => boolean): Promise<FloodTally>;
  /** Aborts every request in flight (the clients go away), and resolves with the final tally. */
  stop(): Promise<FloodTally>;
}

/**
 * `workers` callers each POSTing `body` to `url` again as soon as it is answered, from a process
 * of their own, as an abusive client on another machine would: the flood costs the gateway's event
 * loop what serving it costs, not what sending it costs.
 */
const FLOOD_SCRIPT = `
const { FLOOD_URL: url, FLOOD_AUTHORIZATION: authorization, FLOOD_BODY: body, FLOOD_WORKERS: workers } = process.env;
const controller = new AbortController();
const tally = { answered: 0, codes: {} };
const report = (final) => process.stdout.write(JSON.stringify({ ...tally, final }) + '\\n');
async function worker() {
  while (!controller.signal.aborted) {
    try {
      const response = await fetch(url, { method: 'POST', signal: controller.signal, body,
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization } });
      const { errors } = await response.json();
      let fresh = tally.answered === 0;
      for (const error of errors ?? []) {
        const { code, retryAfterSeconds } = error.extensions ?? {};
        const key = retryAfterSeconds ? code + ' retryAfterSeconds=' + retryAfterSeconds : String(code);
        fresh ||= !(key in tally.codes);
        tally.codes[key] = (tally.codes[key] ?? 0) + 1;
      }
      tally.answered++;
      if (fresh) report(false);
    } catch {}
  }
}
const running = Array.from({ length: Number(workers) }, worker);
process.on('SIGTERM', async () => {
  controller.abort();
  await Promise.all(running);
  report(true);
  process.exit(0);
});
`;

export function startHttpFlood(
  options: { url: string; authorization: string; body: unknown; workers: number },
  register: (dispose: () => unknown) => void,
): HttpFlood {
  const flood: StartedProcess = startNodeProcess(
    ['-e', FLOOD_SCRIPT],
    { FLOOD_URL: options.url, FLOOD_AUTHORIZATION: options.authorization, FLOOD_BODY: JSON.stringify(options.body), FLOOD_WORKERS: String(options.workers) },
    register,
  );
  return {
    reached: (predicate) => flood.waitForLog((line) => predicate(line as FloodTally)) as Promise<FloodTally>,
    async stop() {
      const final = flood.waitForLog((line) => line['final'] === true);
      flood.child.kill('SIGTERM');
      return (await final) as FloodTally;
    },
  };
}
