#!/usr/bin/env node
/**
 * `bulk-import`: the command line of the bulk-import gateway for internal tools and scripts
 * (`bulk-import --help`). A separate program like the simulator: it speaks to a gateway over
 * GraphQL and tus as any client does, and imports nothing of the gateway's internals.
 */
import { homedir } from 'node:os';
import { parseCommandLine, USAGE } from './arguments.js';
import { EXIT, ExitError } from './exit-codes.js';
import { createReporter } from './output.js';
import { runUpload } from './upload-command.js';
import { defaultStateDirectory } from './upload-state.js';

async function main(args: readonly string[]): Promise<number> {
  let command: ReturnType<typeof parseCommandLine>;
  try {
    command = parseCommandLine(args, process.env);
  } catch (error) {
    if (!(error instanceof ExitError)) throw error;
    process.stderr.write(`bulk-import: ${error.message} (bulk-import --help shows how)\n`);
    return error.exitCode;
  }
  if (command.command === 'help') {
    process.stdout.write(USAGE);
    return EXIT.COMPLETED;
  }

  // The first SIGINT or SIGTERM stops the upload and keeps its state; a second one exits at once.
  const interrupt = new AbortController();
  const onSignal = () => {
    if (interrupt.signal.aborted) process.exit(EXIT.INTERRUPTED);
    interrupt.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  return runUpload(command, {
    reporter: createReporter({ json: command.json, stdout: process.stdout, stderr: process.stderr }),
    stateDirectory: defaultStateDirectory(process.env, homedir()),
    interrupt: interrupt.signal,
  });
}

main(process.argv.slice(2)).then(
  // Exit now: a connection kept alive for reuse must not hold the program open.
  (code) => process.exit(code),
  (error: unknown) => {
    const message = (error as { message?: unknown } | undefined)?.message;
    process.stderr.write(`bulk-import: unexpected error: ${typeof message === 'string' ? message : String(error)}\n`);
    process.exit(EXIT.FAILED);
  },
);
