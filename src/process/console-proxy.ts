/**
 * The foreground pty proxy: `tsrun run`/`exec` with process.terminal and no --console-socket keep
 * the pty master and copy it to and from their own stdio, as runc does. When tsrun's stdin is a
 * terminal it goes to raw mode (the container's pty does the line discipline: ^C reaches the
 * container as a byte, not as SIGINT to tsrun; no second "\n" -> "\r\n" on output), and tsrun's
 * window size is forwarded to the pty at start and on every SIGWINCH (TIOCSWINSZ on the master;
 * the kernel signals the container).
 */

import { ReadStream, WriteStream } from 'node:tty';
import { usingNodeStdio } from './exit.js';
import type { Native } from '../native/types.js';

/** The stdio the proxy uses; the process's own unless a test passes others. */
export interface ProxyStdio {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
}

export interface PtyProxy {
  /** After the container exited: waits for its last output (the master reads EIO once every
   *  peer is closed; at most `timeoutMs`, background holders of the pty cannot keep tsrun), then
   *  restores the terminal mode and closes the master. */
  finish(timeoutMs?: number): Promise<void>;
}

/** The size to give the pty: tsrun's own terminal's, when it has one. */
function windowSize(io: ProxyStdio): [number, number] | undefined {
  const out = io.stdout;
  if (!out.isTTY || !out.rows || !out.columns) return undefined;
  return [out.rows, out.columns];
}

function ttyFd(s: NodeJS.ReadStream): number {
  return (s as NodeJS.ReadStream & { fd?: number }).fd ?? 0;
}

function makeRaw(nat: Native, stdin: NodeJS.ReadStream): Buffer | undefined {
  try {
    return nat.ttyMakeRaw(ttyFd(stdin));
  } catch {
    stdin.setRawMode(true); // libuv's raw mode: input raw, output still translated
    return undefined;
  }
}

function restore(nat: Native, stdin: NodeJS.ReadStream, saved: Buffer): void {
  try {
    nat.ttyRestore(ttyFd(stdin), saved);
  } catch {
    // The terminal went away: nothing to restore.
  }
}

/** Starts copying; takes ownership of `master`. */
export function proxyPty(nat: Native, master: number, io: ProxyStdio = { stdin: process.stdin, stdout: process.stdout }): PtyProxy {
  usingNodeStdio();
  // libuv allows one handle per fd: the output is read through `master`, input written through a dup.
  const fromPty = new ReadStream(master);
  const toPty = new WriteStream(nat.dupFd(master));
  toPty.on('error', () => {
    // The container closed its terminal: input has nowhere to go.
  });
  let drained!: () => void;
  const done = new Promise<void>((resolve) => (drained = resolve));
  fromPty.on('data', (chunk: Buffer) => io.stdout.write(chunk));
  fromPty.on('end', () => drained());
  // EIO is how a pty master reports that the last peer was closed: the normal end.
  fromPty.on('error', () => drained());

  // runc's console.SetRaw: cfmakeraw on tsrun's terminal (fd 0), restored in finish().
  const saved = io.stdin.isTTY === true ? makeRaw(nat, io.stdin) : undefined;
  const forwardInput = (chunk: Buffer | string) => toPty.write(chunk);
  io.stdin.on('data', forwardInput);
  io.stdin.on('error', () => io.stdin.off('data', forwardInput));
  io.stdin.resume();

  const resize = () => {
    const size = windowSize(io);
    if (!size) return;
    try {
      nat.setWinsize(master, size[0], size[1]);
    } catch {
      // The pty is gone: nothing to resize.
    }
  };
  resize();
  process.on('SIGWINCH', resize);

  return {
    async finish(timeoutMs = 2000) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([done, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
      process.off('SIGWINCH', resize);
      io.stdin.off('data', forwardInput);
      if (saved) restore(nat, io.stdin, saved);
      io.stdin.pause();
      toPty.destroy();
      fromPty.destroy();
    },
  };
}
