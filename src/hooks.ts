/**
 * Run OCI hooks in the runtime namespace (runtime-spec config.md "POSIX-platform Hooks"): the
 * container state JSON on stdin, `env` exactly as the environment (nothing of tsrun's leaks in),
 * `args` as argv (args[0] is argv[0]), and `timeout` enforced with SIGKILL.
 * Error wording follows runc so clients and people see the same text:
 *   error running prestart hook #0: exit status 1, stdout: ..., stderr: ...
 */

import { TsrunError } from './errors.js';
import { signalDescription, signalNumber } from './process/signals.js';
import { logWarn } from './log.js';

/** A hook as config.json gives it (runtime-spec "hooks"). */
export interface HookSpec {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export type HookKind = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop';

/** Output kept in an error message: enough to diagnose, not a whole log. */
const MAX_OUTPUT = 4096;

function envObject(env: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of env ?? []) {
    const eq = kv.indexOf('=');
    if (eq > 0) out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

function clip(b: Buffer | null | undefined): string {
  const s = b ? b.toString('utf8') : '';
  return s.length > MAX_OUTPUT ? s.slice(0, MAX_OUTPUT) + '...' : s;
}

/** Run one hook; resolves when it exited 0, throws with runc's wording otherwise. */
export function runHook(hook: HookSpec, state: string, cwd?: string): void {
  const args = hook.args && hook.args.length > 0 ? hook.args : [hook.path];
  const timeoutMs = hook.timeout && hook.timeout > 0 ? hook.timeout * 1000 : undefined;
  // Loaded here, not at the top: child_process (and the stream/net modules it pulls in) costs every
  // command several ms of start-up, and only a command that runs a hook needs it.
  const { spawnSync } = process.getBuiltinModule('node:child_process');
  const r = spawnSync(hook.path, args.slice(1), {
    argv0: args[0],
    env: envObject(hook.env),
    input: state,
    cwd,
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const err = r.error as NodeJS.ErrnoException | undefined;
  if (err?.code === 'ETIMEDOUT') {
    throw new TsrunError(`hook ran past specified timeout of ${(hook.timeout ?? 0).toFixed(1)}s`);
  }
  // EPIPE only means the hook did not read its stdin, which it is free to do.
  if (err && err.code !== 'EPIPE') {
    throw new TsrunError(`fork/exec ${hook.path}: ${errnoText(err)}`);
  }
  let failure: string | null = null;
  if (r.signal) failure = `signal: ${signalDescription(signalNumber(r.signal) ?? 0)}`;
  else if (r.status !== 0) failure = `exit status ${r.status}`;
  if (failure !== null) {
    throw new TsrunError(`${failure}, stdout: ${clip(r.stdout)}, stderr: ${clip(r.stderr)}`);
  }
}

function errnoText(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
      return 'permission denied';
    case 'ENOEXEC':
      return 'exec format error';
    default:
      return e.code ?? e.message;
  }
}

/** Run a list of hooks in order; the first failure stops the list and names the hook. */
export function runHooks(kind: HookKind, hooks: HookSpec[] | undefined, state: string, cwd?: string): void {
  (hooks ?? []).forEach((h, i) => {
    try {
      runHook(h, state, cwd);
    } catch (e) {
      throw new TsrunError(`error running ${kind} hook #${i}`, { cause: e });
    }
  });
}

/** poststop: failures are warnings and the rest still run (runtime-spec runtime.md, step 13). */
export function runHooksWarnOnly(kind: HookKind, hooks: HookSpec[] | undefined, state: string, cwd?: string): void {
  (hooks ?? []).forEach((h, i) => {
    try {
      runHook(h, state, cwd);
    } catch (e) {
      logWarn(new TsrunError(`error running ${kind} hook #${i}`, { cause: e }).message);
    }
  });
}
