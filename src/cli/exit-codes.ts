/**
 * The exit codes of `bulk-import`, a contract with the scripts that run it (`--help` lists them,
 * and so does the README).
 */
export const EXIT = {
  /** The job ended COMPLETED. */
  COMPLETED: 0,
  /** The job ended FAILED (the import failed, or the job met an error) or CANCELED. */
  FAILED: 1,
  /** The command line was wrong, or FILE cannot be read: nothing was sent. */
  USAGE: 2,
  /** The gateway could not be reached, or refused (authentication, permission, a refused upload). */
  GATEWAY: 3,
  /** Interrupted (SIGINT, SIGTERM): the upload's state is kept, running the command again resumes. */
  INTERRUPTED: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure that ends the program with `exitCode` and one line: `message`, never a stack trace. */
export class ExitError extends Error {
  override readonly name = 'ExitError';

  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
  }
}
