/**
 * How a tsrun command ends. process.exit() runs Node's teardown (the 'exit' event, V8's platform
 * threads joined, libuv's loop closed, C++ static destructors and atexit handlers) before the
 * kernel sees exit_group: 2-4 ms of every command, a sizeable part of what `start` and `delete`
 * add over a bare `node`. tsrun writes its output, state and --log lines with synchronous writes,
 * so a command that loaded the addon anyway ends with its _exit (addon/src/exit.cc) instead.
 */

import { loadedNative } from '../native/index.js';
import type { Native } from '../native/types.js';

let nodeStdio = false;

/** Node's own stdio streams carry data (the terminal proxy of a foreground `run` or `exec`): their
 *  writes may still be queued, and Node restores the terminal's mode at exit, so such a process
 *  ends through process.exit. */
export function usingNodeStdio(): void {
  nodeStdio = true;
}

/** Ends the process with `code`; `nat` and `exit` are replaceable for unit tests. */
export function exitProcess(code: number, nat: Native | undefined = loadedNative(), exit: (code: number) => never = process.exit): never {
  // An 'exit' listener (the build's code-cache writer in scripts/boot.cjs) must still run.
  if (nat !== undefined && !nodeStdio && process.listenerCount('exit') === 0) nat.exitNow(code);
  return exit(code);
}
