// Daemons the client tests start (containerd, dockerd): a private root under a temp directory,
// started in the background with their output in a log file, and stopped by pid (never by name:
// other daemons on the machine are not ours). Mounts they leave under the private root are ours to
// remove; nothing else is touched.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Daemon {
  pid: number;
  /** The daemon's stdout + stderr. */
  logFile: string;
  /** Last lines of the log, for failure messages. */
  logTail(lines?: number): string;
  /** SIGTERM, then SIGKILL after `graceMs`; waits until the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** A fresh private directory for one daemon's state (root, exec-root, sockets). */
export function privateDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `tsrun-${prefix}-`));
}

/** Whether a process with this pid exists (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Polls `ready` until it returns true; fails with the daemon's log when it dies or times out. */
async function waitReady(child: ChildProcess, d: Daemon, ready: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`daemon exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${d.logTail()}`);
    if (await ready()) return;
    if (Date.now() > deadline) {
      await d.stop();
      throw new Error(`daemon not ready after ${timeoutMs} ms:\n${d.logTail()}`);
    }
    await sleep(100);
  }
}

/**
 * Starts `cmd args` detached (its own process group, so a test runner's signals do not reach it)
 * and waits until `ready()` (e.g. its socket answers).
 */
export async function startDaemon(cmd: string, args: string[], opts: { logFile: string; env?: NodeJS.ProcessEnv; ready: () => boolean | Promise<boolean>; timeoutMs?: number }): Promise<Daemon> {
  const out = openSync(opts.logFile, 'a');
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', out, out], env: opts.env ?? process.env });
  closeSync(out);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${cmd}`);
  const d: Daemon = {
    pid,
    logFile: opts.logFile,
    logTail(lines = 30) {
      return existsSync(opts.logFile) ? readFileSync(opts.logFile, 'utf8').split('\n').slice(-lines).join('\n') : '';
    },
    async stop(graceMs = 10000) {
      if (!alive(pid)) return;
      process.kill(pid, 'SIGTERM');
      const deadline = Date.now() + graceMs;
      while (alive(pid) && child.exitCode === null && child.signalCode === null && Date.now() < deadline) await sleep(50);
      if (alive(pid) && child.exitCode === null && child.signalCode === null) {
        process.kill(pid, 'SIGKILL');
        while (alive(pid) && child.exitCode === null && child.signalCode === null) await sleep(50);
      }
    },
  };
  await waitReady(child, d, opts.ready, opts.timeoutMs ?? 30000);
  return d;
}

/** Mount points at or below `dir` (deepest first), from /proc/self/mountinfo. */
export function mountsUnder(dir: string): string[] {
  const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => unescape(l.split(' ')[4]!))
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Removes a daemon's private directory, first lazily unmounting what it left mounted there. */
export function removePrivateDir(dir: string): void {
  for (const m of mountsUnder(dir)) spawnSync('umount', ['-l', m]);
  rmSync(dir, { recursive: true, force: true });
}
