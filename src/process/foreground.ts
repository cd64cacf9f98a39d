/**
 * A foreground `run` or `exec`: tsrun is the process's parent and waits on its pidfd. Signals tsrun
 * receives go to the process, and tsrun's exit status is the process's (128+N when it was killed
 * by signal N, as a shell reports it). With a terminal, SIGWINCH belongs to the pty proxy: it
 * resizes the pty and the kernel signals the foreground process group itself.
 */

import type { Native } from '../native/types.js';
import { FORWARDED_SIGNALS, signalNumber } from './signals.js';

/**
 * Installed before the process exists: a signal that arrives while the container is created and
 * started (a client's SIGTERM right after the process printed something) is kept, since Node
 * queues it for the event loop, and forwarded once the pidfd is attached. Installed later it
 * would kill tsrun with the default action and leave the container behind (runc sets up its
 * signal handler before starting the process for the same reason).
 */
export class SignalForwarder {
  readonly #nat: Native;
  #pidfd = -1;
  readonly #pending: NodeJS.Signals[] = [];
  readonly #installed: NodeJS.Signals[] = [];
  readonly #handler = (sig: NodeJS.Signals): void => {
    if (this.#pidfd < 0) this.#pending.push(sig);
    else this.#send(sig);
  };

  /** SIGWINCH waits for attach(): until then its default action (ignore) is right anyway. */
  constructor(nat: Native) {
    this.#nat = nat;
    for (const s of FORWARDED_SIGNALS) if (s !== 'SIGWINCH') this.#listen(s);
  }

  /** Forwards what came so far and everything from now on to `pidfd` (the caller owns it). */
  attach(pidfd: number, terminal: boolean): void {
    this.#pidfd = pidfd;
    if (!terminal && FORWARDED_SIGNALS.includes('SIGWINCH')) this.#listen('SIGWINCH');
    for (const s of this.#pending.splice(0)) this.#send(s);
  }

  dispose(): void {
    for (const s of this.#installed.splice(0)) process.off(s, this.#handler);
  }

  #listen(s: NodeJS.Signals): void {
    process.on(s, this.#handler);
    this.#installed.push(s);
  }

  #send(sig: NodeJS.Signals): void {
    try {
      this.#nat.pidfdSendSignal(this.#pidfd, signalNumber(sig) ?? 15);
    } catch {
      // Exited already: waitPidfd is about to return.
    }
  }
}

/** Waits for the process behind `pidfd`, forwarding signals through `fwd`, which it disposes. */
export async function waitForeground(nat: Native, pidfd: number, fwd: SignalForwarder, terminal = false): Promise<number> {
  try {
    fwd.attach(pidfd, terminal);
    const res = await nat.waitPidfd(pidfd);
    return res.signal !== null ? 128 + res.signal : (res.exitCode ?? 0);
  } finally {
    fwd.dispose();
  }
}
