/**
 * A foreground `run` or `exec`: tsrun is the process's parent and waits on its pidfd. Signals tsrun
 * receives go to the process, and tsrun's exit status is the process's (128+N when it was killed
 * by signal N, as a shell reports it). With a terminal, SIGWINCH belongs to the pty proxy: it
 * resizes the pty and the kernel signals the foreground process group itself.
 */

import type { Native } from '../native/types.js';
import { FORWARDED_SIGNALS, signalNumber } from './signals.js';

/** Waits for the process behind `pidfd` (which stays open: the caller owns it). */
export async function waitForeground(nat: Native, pidfd: number, terminal = false): Promise<number> {
  const forward = (sig: NodeJS.Signals) => {
    try {
      nat.pidfdSendSignal(pidfd, signalNumber(sig) ?? 15);
    } catch {
      // Exited already: waitPidfd is about to return.
    }
  };
  const signals = FORWARDED_SIGNALS.filter((s) => !(terminal && s === 'SIGWINCH'));
  for (const s of signals) process.on(s, forward);
  try {
    const res = await nat.waitPidfd(pidfd);
    return res.signal !== null ? 128 + res.signal : (res.exitCode ?? 0);
  } finally {
    for (const s of signals) process.off(s, forward);
  }
}
