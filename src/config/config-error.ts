/** A configuration value that cannot be used; `variable` names the environment variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable} ${problem}`);
  }
}

/**
 * Everything wrong with a configuration, found in one pass: an operator fixing a deployment
 * learns every missing or invalid variable from one run, not one per restart.
 */
export class InvalidConfiguration extends Error {
  override readonly name = 'InvalidConfiguration';
  constructor(readonly problems: readonly ConfigError[]) {
    super(problems.map((problem) => problem.message).join('\n'));
  }

  /** The variables named, in the order found. */
  get variables(): string[] {
    return this.problems.map((problem) => problem.variable);
  }
}

/**
 * The problems of one configuration pass. A value with a problem reads as its default, so that
 * the pass goes on and finds the rest; nothing is used before {@link throwIfAny}.
 */
export class ConfigProblems {
  private readonly found: ConfigError[] = [];

  add(error: ConfigError): void {
    this.found.push(error);
  }

  /** `read()`, or `fallback` after noting the {@link ConfigError} it threw. */
  attempt<T>(read: () => T, fallback: T): T {
    try {
      return read();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      this.add(error);
      return fallback;
    }
  }

  /** Whether one of `variables` already has a problem (its value is then only a stand-in). */
  about(...variables: string[]): boolean {
    return this.found.some((error) => variables.includes(error.variable));
  }

  /**
   * A rule across variables: `error` unless `holds`. Not judged when one of the variables it
   * reads already has a problem, whose stand-in value would make a second, misleading one.
   */
  require(holds: boolean, error: ConfigError, reads: readonly string[]): void {
    if (!holds && !this.about(...reads)) this.add(error);
  }

  throwIfAny(): void {
    if (this.found.length > 0) throw new InvalidConfiguration(this.found);
  }
}
