// What the three client tests (containerd, podman, docker) share: finding their binaries, running
// a client command with a hard timeout, shell quoting, reading the runtime-call log, and removing
// the cgroups a run made.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupMounts } from '../../conformance/lib/index.js';

/** Why a client test cannot run ("x, y not installed"), or '' when every binary is on PATH. */
export function missingBinaries(bins: readonly string[]): string {
  const dirs = (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').filter((d) => d !== '');
  const missing = bins.filter((b) => !dirs.some((d) => existsSync(join(d, b))));
  return missing.length === 0 ? '' : `${missing.join(', ')} not installed`;
}

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command with piped output in its own process group (nothing long-lived keeps the test's
 * pipes), killed as a group after `timeoutMs`. stdin is /dev/null unless `input` is given.
 */
export function runCommand(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<Result> {
  const timeoutMs = opts.timeoutMs ?? 60000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], detached: true, env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    const timer = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
      stderr += `\n[killed after ${timeoutMs} ms]`;
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** One shell word. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A file's text, or '' when it cannot be read (a process that exited, a cgroup removed). */
export function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The runtime subcommand of one call (the first word after the global options). */
export function subcommand(argv: readonly string[]): string {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--root' || a === '--log' || a === '--log-format') i++;
    else if (!a.startsWith('-')) return a;
  }
  return '';
}

/**
 * rmdir of a run's cgroup directories (deepest first; a busy one is reported on stderr and kept),
 * then of the shared `top` in every hierarchy when it is empty (another run's parent keeps it).
 */
export function removeCgroupDirs(dirs: readonly string[], top: string, label: string): void {
  for (const d of dirs) {
    try {
      rmdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') console.error(`${label}: could not remove cgroup ${d}: ${(e as Error).message}`);
    }
  }
  for (const m of cgroupMounts()) {
    try {
      rmdirSync(join(m.mountPoint, top));
    } catch {
      // absent, or another run still has its parent below it
    }
  }
}
