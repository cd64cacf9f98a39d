/**
 * The cgroupfs operations both managers share. Files are opened O_WRONLY|O_TRUNC, never O_CREAT: a missing
 * file means a missing controller or a bad name, and must fail rather than appear on a tmpfs), and
 * every failure names the file and the spec field.
 */

import { closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmdirSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TsrunError } from '../errors.js';
import type { CgroupWrite } from './types.js';

export function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function writeFile(path: string, value: string, what?: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_TRUNC);
  } catch (e) {
    throw writeError(path, value, what, e);
  }
  writeOpened(path, fd, value, what);
}

function writeError(path: string, value: string, what: string | undefined, cause: unknown): TsrunError {
  return new TsrunError(`writing "${value}" to ${path}${what ? ` (${what})` : ''}`, { cause });
}

function writeOpened(path: string, fd: number, value: string, what?: string): void {
  try {
    // One write(2): cgroupfs parses each write as a whole value.
    writeSync(fd, value);
  } catch (e) {
    throw writeError(path, value, what, e);
  } finally {
    closeSync(fd);
  }
}

export function readText(path: string): string {
  return readFileSync(path, 'utf8').trim();
}

export function readOptional(path: string): string | undefined {
  try {
    return readText(path);
  } catch {
    return undefined;
  }
}

/** Perform one planned write in `dir`, honouring `optional` and `fallback`. The open tells whether
 *  the file exists (no access(2) first: a create makes a few dozen of these writes). */
export function applyWrite(dir: string, wr: CgroupWrite): void {
  const path = join(dir, wr.file);
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_TRUNC);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw writeError(path, wr.value, wr.field, e);
    if (wr.fallback) return applyWrite(dir, wr.fallback);
    if (wr.optional) return;
    throw new TsrunError(`${wr.field}: cannot set ${path}: the file does not exist (controller not available or not enabled for this cgroup)`);
  }
  writeOpened(path, fd, wr.value, wr.field);
}

/** Every pid in `dir` and its descendants (cgroup.procs lists only the directory's own). */
export function pidsRecursive(dir: string, out: Set<number> = new Set()): Set<number> {
  const text = readOptional(join(dir, 'cgroup.procs'));
  if (text === undefined) return out;
  for (const line of text.split('\n')) if (line) out.add(Number(line));
  for (const sub of subdirs(dir)) pidsRecursive(join(dir, sub), out);
  return out;
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
}

/**
 * mkdir -p of a container cgroup; returns the highest parent it had to make above `dir`, if any.
 * A level can fail after the ones above it were made (the kernel refuses a name with a newline,
 * cgroup_mkdir; EACCES, ENOSPC): those are removed again, so a refused create leaves no cgroup.
 */
export function makeCgroupDir(dir: string): string | undefined {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) missing.unshift(d);
  const made: string[] = [];
  try {
    for (const d of missing) {
      try {
        mkdirSync(d);
      } catch (e) {
        // Another create making the same parent at the same moment: it is theirs, go on.
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(d).isDirectory()) throw e;
        continue;
      }
      made.push(d);
    }
  } catch (e) {
    for (const d of made.reverse()) rmdirQuietly(d);
    throw new TsrunError(`creating cgroup ${dir}`, { cause: e });
  }
  return made.length > 0 && made[0] !== dir ? made[0] : undefined;
}

function rmdirQuietly(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // in use by a concurrent create: theirs now
  }
}

/** After the container's directory is gone: remove the now-empty parents that `create` made, from
 *  the deepest up to `top`. One in use by another container (ENOTEMPTY/EBUSY) stays, with all above it. */
export function removeCreatedParents(leaf: string, top: string): void {
  if (!leaf.startsWith(`${top}/`)) return;
  for (let d = dirname(leaf); d.length >= top.length; d = dirname(d)) {
    try {
      rmdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return;
    }
    if (d === top) return;
  }
}

/**
 * rmdir `dir` and any cgroups created below it (children first). The kernel answers EBUSY while
 * a just-killed process is still being torn down, so retry a bounded number of times (about a
 * second in all). Never touches anything above `dir`. A missing directory is already removed.
 */
export function removeCgroup(dir: string): void {
  for (const sub of subdirs(dir)) removeCgroup(join(dir, sub));
  let delay = 5;
  for (let attempt = 0; ; attempt++) {
    try {
      rmdirSync(dir);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || attempt >= 8) throw new TsrunError(`removing cgroup ${dir}`, { cause: e });
      sleepMs(delay);
      delay = Math.min(delay * 2, 250);
    }
  }
}

/** Signal each pid, ignoring those that exited meanwhile. */
export function signalPids(pids: Iterable<number>, signal: number): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw new TsrunError(`sending signal ${signal} to pid ${pid}`, { cause: e });
    }
  }
}

/** Poll `check` until it holds, up to `timeoutMs`. */
export function waitFor(check: () => boolean, timeoutMs: number): boolean {
  const end = Date.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    if (check()) return true;
    if (Date.now() >= end) return false;
    sleepMs(delay);
    delay = Math.min(delay * 2, 50);
  }
}

/** "key value" lines (memory.stat, cpu.stat, memory.events) → record of numbers. */
export function keyValues(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.split(' ');
    if (k && v !== undefined) out[k] = Number(v);
  }
  return out;
}

/** A number file; "max" → the largest value (runc reports unlimited as max uint64; JSON cannot
 *  hold that exactly, so Number.MAX_SAFE_INTEGER stands in). */
export function readNumber(path: string): number {
  const t = readOptional(path);
  if (t === undefined || t === '') return 0;
  if (t === 'max') return Number.MAX_SAFE_INTEGER;
  return Number(t);
}

/** The ancestors of `dir` that are cgroup v2 directories (have cgroup.subtree_control), root
 *  first. Walks to "/" rather than stopping at the first gap, so a container directory whose
 *  intermediate parents are still being created is handled the same way. */
export function v2Ancestors(dir: string): string[] {
  const chain: string[] = [];
  for (let d = dirname(dir); ; d = dirname(d)) {
    if (existsSync(join(d, 'cgroup.subtree_control'))) chain.unshift(d);
    if (d === dirname(d)) return chain;
  }
}
