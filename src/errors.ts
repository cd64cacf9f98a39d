/**
 * Error types every part of tsrun throws. The CLI (src/cli/main.ts) turns any of them into one
 * line on stderr and in the --log file (text or JSON), and the process exit status.
 * Wrapping adds context instead of replacing it: `new TsrunError('running createRuntime hook #1', { cause })`
 * renders as "running createRuntime hook #1: <cause message>".
 */

// Each class spells out its `name`: the bundle is minified without esbuild's keepNames (which
// costs every start a defineProperty per function), so class identifiers do not survive it.
export class TsrunError extends Error {
  override name = 'TsrunError';
  /** Exit status of the tsrun process when this error ends it. */
  exitCode = 1;

  constructor(message: string, options?: { cause?: unknown }) {
    const cause = options?.cause;
    super(cause === undefined ? message : `${message}: ${describe(cause)}`, options);
  }
}

/** Invalid config.json (or process.json, or resources): lists every problem, each naming its JSON
 *  path, e.g. `config.json: /process/args: must be a non-empty array`. */
export class ConfigError extends TsrunError {
  override name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(problems.length === 1 ? `${file}: ${problems[0]}` : `${file}: ${problems.length} problems:\n  ${problems.join('\n  ')}`);
  }
}

/** Wrong command line: unknown flag, missing argument, bad value. */
export class UsageError extends TsrunError {
  override name = 'UsageError';
}

/** The named container does not exist. runc 1.1 words it without the id, and clients match the text. */
export class NotFoundError extends TsrunError {
  override name = 'NotFoundError';
  constructor(readonly id: string) {
    super('container does not exist');
  }
}

/** The requested operation is not valid in the container's current status. */
export class StatusError extends TsrunError {
  override name = 'StatusError';
}

/** A failure reported by oci-init over the sync socket. */
export class InitFailure extends TsrunError {
  override name = 'InitFailure';
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

/** The errno code (EACCES, ENOENT...) of a system error, looked for through the `cause` chain
 *  that wrapping with context builds; undefined when none carries one. */
export function errnoCode(e: unknown): string | undefined {
  for (let cur = e, depth = 0; cur instanceof Error && depth < 8; cur = cur.cause, depth++) {
    const code = (cur as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}
