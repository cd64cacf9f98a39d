/**
 * Signal names and numbers (Linux, x86_64/arm64 numbering) and runc-compatible parsing of the
 * `kill` argument: `9`, `KILL`, `SIGKILL`, `kill`, and the real-time forms `RTMIN`, `RTMIN+3`,
 * `SIGRTMAX-2`.
 */

import { UsageError } from '../errors.js';

export const SIGNALS: Readonly<Record<string, number>> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGIOT: 6, SIGBUS: 7,
  SIGFPE: 8, SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14,
  SIGTERM: 15, SIGSTKFLT: 16, SIGCHLD: 17, SIGCLD: 17, SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20,
  SIGTTIN: 21, SIGTTOU: 22, SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26, SIGPROF: 27,
  SIGWINCH: 28, SIGIO: 29, SIGPOLL: 29, SIGPWR: 30, SIGSYS: 31,
};

/** glibc reserves 32 and 33 for itself, so the SIGRTMIN a program sees is 34. */
export const SIGRTMIN = 34;
export const SIGRTMAX = 64;

/** Parse a signal given on the command line; errors say which text was not understood. */
export function parseSignal(raw: string): number {
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    if (n < 1 || n > SIGRTMAX) throw new UsageError(`invalid signal number ${raw}: must be between 1 and ${SIGRTMAX}`);
    return n;
  }
  let name = raw.toUpperCase();
  if (!name.startsWith('SIG')) name = 'SIG' + name;
  const known = SIGNALS[name];
  if (known !== undefined) return known;
  const rt = /^SIGRT(MIN|MAX)(?:([+-])(\d+))?$/.exec(name);
  if (rt) {
    const base = rt[1] === 'MIN' ? SIGRTMIN : SIGRTMAX;
    const off = rt[3] === undefined ? 0 : Number(rt[3]);
    // runc only accepts offsets that move inward (RTMIN+n, RTMAX-n) and stay in range.
    const validSign = rt[2] === undefined || (rt[1] === 'MIN' ? rt[2] === '+' : rt[2] === '-');
    const n = rt[1] === 'MIN' ? base + off : base - off;
    if (validSign && n >= SIGRTMIN && n <= SIGRTMAX) return n;
  }
  throw new UsageError(`unknown signal ${JSON.stringify(raw)}`);
}

/** Go's description of a signal, used in "signal: killed"-style hook errors. */
const DESCRIPTIONS: Record<number, string> = {
  1: 'hangup', 2: 'interrupt', 3: 'quit', 6: 'aborted', 9: 'killed', 11: 'segmentation fault',
  13: 'broken pipe', 14: 'alarm clock', 15: 'terminated',
};

export function signalDescription(n: number): string {
  return DESCRIPTIONS[n] ?? `signal ${n}`;
}

/** Node's name for a signal number (process.kill / child_process report names). */
export function signalNumber(name: NodeJS.Signals | string): number | undefined {
  return SIGNALS[name.startsWith('SIG') ? name : 'SIG' + name];
}

/** The signals `tsrun run` forwards to the container's init (runc forwards all it can catch). */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = [
  'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT', 'SIGTSTP',
  'SIGTTIN', 'SIGTTOU', 'SIGALRM', 'SIGVTALRM', 'SIGPROF', 'SIGPWR',
];
