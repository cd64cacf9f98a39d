import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Bundle } from './bundle.js';
import { trackDir } from './cleanup.js';
import { tsrunBin } from './paths.js';
import type { ProbeReport } from './probe-report.js';

export interface RunResult {
  /** Exit status, or null when killed by a signal (see signal). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the call outlived timeoutMs and was killed. */
  timedOut: boolean;
}

export interface TsrunOptions {
  /** Written to tsrun's stdin (default: stdin is /dev/null). */
  input?: string;
  /** The whole environment for tsrun (default: this process's). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Default 25 s; the process group is killed after it. */
  timeoutMs?: number;
  /** Override the per-file --root; false passes no --root at all. */
  root?: string | false;
  /** Extra fds for the child, placed from fd 3 up (Node's stdio array semantics). */
  extraFds?: number[];
  /** A command that execs tsrun, e.g. ['sh', '-c', 'ulimit -Sn 555 && exec "$@"', 'sh']. */
  prefix?: string[];
}

let testRootDir: string | undefined;

/** The private state root for this test file (each vitest file has its own module instance). */
export function testRoot(): string {
  testRootDir ??= trackDir(mkdtempSync('/tmp/tsrun-conf-root-'));
  return testRootDir;
}

/** Whether this file has used its state root yet (nothing to clean up otherwise). */
export function testRootCreated(): boolean {
  return testRootDir !== undefined;
}

/** A fresh container ID, unique within the run. */
export function newId(prefix = 'conf'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/**
 * Runs the tsrun binary with `--root <testRoot()>` first. Output goes to files, not pipes, because
 * a container started by `create`/`run -d` inherits tsrun's stdio and would hold a pipe open long
 * after tsrun itself exited; the result is read when tsrun exits.
 */
export async function tsrun(args: string[], opts: TsrunOptions = {}): Promise<RunResult> {
  const io = mkdtempSync('/tmp/tsrun-conf-io-');
  const outPath = join(io, 'out');
  const errPath = join(io, 'err');
  const inPath = join(io, 'in');
  writeFileSync(inPath, opts.input ?? '');
  const fds = [openSync(opts.input !== undefined ? inPath : '/dev/null', 'r'), openSync(outPath, 'w'), openSync(errPath, 'w')];
  const root = opts.root === undefined ? testRoot() : opts.root;
  const argv = root === false ? args : ['--root', root, ...args];
  try {
    return await new Promise<RunResult>((resolve, reject) => {
      const [cmd, ...cmdArgs] = [...(opts.prefix ?? []), tsrunBin, ...argv];
      const child = spawn(cmd!, cmdArgs, {
        stdio: [...fds, ...(opts.extraFds ?? [])],
        env: opts.env ?? process.env,
        cwd: opts.cwd,
        detached: true,
      });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      }, opts.timeoutMs ?? 25000);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        resolve({
          code,
          signal,
          stdout: readFileSync(outPath, 'utf8'),
          stderr: readFileSync(errPath, 'utf8'),
          timedOut,
        });
      });
    });
  } finally {
    for (const fd of fds) closeSync(fd);
    rmSync(io, { recursive: true, force: true });
  }
}

/** `tsrun run --bundle <dir> <id>`; the container is force-deleted afterwards whatever happened. */
export async function runContainer(bundle: Bundle, id: string = newId(), opts: TsrunOptions = {}): Promise<RunResult> {
  bundle.write();
  try {
    return await tsrun(['run', '--bundle', bundle.dir, id], { cwd: bundle.dir, ...opts });
  } finally {
    await tsrun(['delete', '--force', id], { root: opts.root });
  }
}

/** Runs /bin/probe with the given check arguments in the bundle and parses its report. */
export async function probe(bundle: Bundle, checks: string[] = [], opts: TsrunOptions = {}): Promise<ProbeReport> {
  bundle.config.process.args = ['/bin/probe', ...checks];
  const r = await runContainer(bundle, undefined, opts);
  return parseProbe(r);
}

/** Parses a probe report out of a finished run, with tsrun's output in the error when it fails. */
export function parseProbe(r: RunResult): ProbeReport {
  const text = r.stdout.trim();
  if (r.code !== 0 || !text.startsWith('{')) {
    throw new Error(`probe run failed: code=${r.code} signal=${r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return JSON.parse(text) as ProbeReport;
}
