/**
 * process.terminal on tsrun's side. oci-init allocates the pty inside the container (addon/init/
 * console.cc) and sends its master over the sync socket (`pty` message, src/process/protocol.ts);
 * tsrun then either passes it on to --console-socket, as runc does (SCM_RIGHTS, the message data
 * being the master's name), or, for a foreground `run`/`exec` without a socket, keeps it and
 * proxies it to its own stdio (see console-proxy.ts).
 */

import { closeSync } from 'node:fs';
import { InitFailure, TsrunError } from '../errors.js';
import { logDebug } from '../log.js';
import type { Native } from '../native/types.js';
import type { ChildMessage, ProtocolCursor } from './protocol.js';

/** What becomes of the pty master. */
export type ConsoleTarget =
  /** --console-socket, connected before the init was spawned (openConsoleSocket). */
  | { kind: 'socket'; fd: number; path: string }
  /** Foreground run/exec without a socket: the caller proxies the master. */
  | { kind: 'foreground' };

/** The channel part receiveConsole needs: the fd-carrying message that follows `pty`. */
export interface FdReceiver {
  receiveFd(): { fd: number; data: string };
}

/**
 * runc's rules for the terminal flags (utils_linux.go checkTerminal), in runc's words, which
 * clients know: a detached terminal needs somewhere to send the master, and a socket is only
 * meaningful for a detached terminal. `detach` is true for create and run/exec -d.
 */
export function checkTerminal(terminal: boolean, consoleSocket: string | undefined, detach: boolean): void {
  if (detach && terminal && consoleSocket === undefined) {
    throw new TsrunError('cannot allocate tty if runc will detach without setting console socket');
  }
  if ((!detach || !terminal) && consoleSocket !== undefined) {
    throw new TsrunError('cannot use console socket if runc will not detach or allocate tty');
  }
}

/** The target for a command: undefined without a terminal. Connects --console-socket at once, so a
 *  wrong path fails before anything was spawned (nothing to clean up). */
export function consoleTarget(nat: Native, terminal: boolean, consoleSocket: string | undefined): ConsoleTarget | undefined {
  if (!terminal) return undefined;
  if (consoleSocket === undefined) return { kind: 'foreground' };
  try {
    return { kind: 'socket', fd: nat.connectUnix(consoleSocket), path: consoleSocket };
  } catch (e) {
    throw new TsrunError(`--console-socket ${consoleSocket}: ${(e as Error).message}`);
  }
}

/** Releases what consoleTarget opened (the socket); safe to call twice. */
export function closeConsoleTarget(t: ConsoleTarget | undefined): void {
  if (t?.kind !== 'socket' || t.fd < 0) return;
  closeSync(t.fd);
  t.fd = -1;
}

/**
 * Called when the child sent `pty`: takes the master from the fd message that follows it. With a
 * socket target the master is sent on (data: the name oci-init gave it, "/dev/ptmx" as runc) and
 * closed here, returning undefined; in the foreground the master is returned to be proxied.
 */
export function receiveConsole(nat: Native, ch: FdReceiver, target: ConsoleTarget | undefined): number | undefined {
  const { fd: master, data } = ch.receiveFd();
  if (target === undefined) {
    closeSync(master);
    throw new TsrunError('sync: container init sent a pty although process.terminal is false');
  }
  if (target.kind === 'foreground') return master;
  try {
    nat.sendFd(target.fd, master, data || '/dev/ptmx');
  } catch (e) {
    throw new TsrunError(`--console-socket ${target.path}: sending the pty master: ${(e as Error).message}`);
  } finally {
    closeSync(master);
  }
  return undefined;
}

/** The channel calls receiveUntilReady makes (parent.ts SyncChannel has them). */
export interface ReadyChannel {
  receive(before: string): ChildMessage;
  receiveFd?(): { fd: number; data: string };
}

/**
 * Reads up to `ready` with the optional `pty` before it (protocol.ts order tables, create and
 * exec alike): returns the master for a foreground target, undefined otherwise. An `error` from
 * the child throws InitFailure.
 */
export function receiveUntilReady(nat: Native, ch: ReadyChannel, cursor: ProtocolCursor, target: ConsoleTarget | undefined): number | undefined {
  let msg = ch.receive('ready');
  let master: number | undefined;
  if (msg.type === 'pty') {
    cursor.step('child->parent', 'pty');
    const recv = ch.receiveFd?.bind(ch);
    if (!recv) throw new TsrunError('sync: this channel cannot receive the pty master');
    master = receiveConsole(nat, { receiveFd: recv }, target);
    msg = ch.receive('ready');
  }
  logDebug(`sync: received ${msg.type}`);
  try {
    cursor.step('child->parent', msg.type);
    if (msg.type === 'error') throw new InitFailure(msg.step, msg.syscall, msg.errno, msg.path, msg.message);
  } catch (e) {
    if (master !== undefined) closeSync(master);
    throw e;
  }
  return master;
}
