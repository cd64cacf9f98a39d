/**
 * What tsrun reads from /proc about processes: start time (so a recycled pid is never taken for the
 * container's init), liveness, pid namespace identity, and the process list for `kill --all`.
 */

import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface ProcStat {
  /** Single-letter state (R, S, D, Z, X, ...). */
  state: string;
  /** Field 22, starttime in clock ticks since boot: with the pid it names one process forever. */
  startTime: string;
}

/** Parse /proc/<pid>/stat; the command name (field 2) may hold spaces and parentheses, so
 *  split after the last ')'. */
export function parseStat(text: string): ProcStat {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error('malformed /proc stat line');
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state); field 22 is rest[19].
  const startTime = rest[19];
  if (rest[0] === undefined || startTime === undefined) throw new Error('malformed /proc stat line');
  return { state: rest[0], startTime };
}

export function readStat(pid: number): ProcStat | null {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

export function startTimeOf(pid: number): string | null {
  return readStat(pid)?.startTime ?? null;
}

/** The process `pid` exists, is the one that started at `startTime`, and is not a zombie. */
export function isAlive(pid: number, startTime: string): boolean {
  if (pid <= 0) return false;
  const st = readStat(pid);
  return st !== null && st.startTime === startTime && st.state !== 'Z' && st.state !== 'X';
}

/** "pid:[4026531836]" for the process' pid namespace, or null when it is gone. */
export function pidNamespaceOf(pid: number | 'self'): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
}

export function listPids(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (/^\d+$/.test(name)) out.push(Number(name));
  }
  return out;
}
