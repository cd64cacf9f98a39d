/**
 * Error types every part of tsrun throws. The CLI (src/cli/main.ts) turns any of them into one
 * line on stderr and in the --log file (text or JSON), and the process exit status.
 * Wrapping adds context instead of replacing it: `new TsrunError('running createRuntime hook #1', { cause })`
 * renders as "running createRuntime hook #1: <cause message>".
 */

export class TsrunError extends Error {
  /** Exit status of the tsrun process when this error ends it. */
  exitCode = 1;

  constructor(message: string, options?: { cause?: unknown }) {
    const cause = options?.cause;
    super(cause === undefined ? message : `${message}: ${describe(cause)}`, options);
    this.name = new.target.name;
  }
}

/** Invalid config.json (or process.json, or resources): lists every problem, each naming its JSON
 *  path, e.g. `config.json: /process/args: must be a non-empty array`. */
export class ConfigError extends TsrunError {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(problems.length === 1 ? `${file}: ${problems[0]}` : `${file}: ${problems.length} problems:\n  ${problems.join('\n  ')}`);
  }
}

/** Wrong command line: unknown flag, missing argument, bad value. */
export class UsageError extends TsrunError {}

/** The named container does not exist. runc 1.1 words it without the id, and clients match the text. */
export class NotFoundError extends TsrunError {
  constructor(readonly id: string) {
    super('container does not exist');
  }
}

/** The requested operation is not valid in the container's current status. */
export class StatusError extends TsrunError {}

/** A failure reported by oci-init over the sync socket. */
export class InitFailure extends TsrunError {
  constructor(
    readonly step: string,
    readonly syscall: string,
    readonly errno: number,
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

export function describe(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
