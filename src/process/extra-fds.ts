/**
 * The descriptors besides stdio that the container's process gets, as runc hands them out:
 * first the systemd socket-activation fds (LISTEN_FDS, sd_listen_fds(3): fds 3.. of a process
 * whose LISTEN_PID is its own pid), then the --preserve-fds ones that follow them. With
 * activation fds the container's environment gets LISTEN_FDS=<n> and LISTEN_PID=1.
 */

import { fstatSync } from 'node:fs';
import { TsrunError } from '../errors.js';

export interface ExtraFds {
  /** How many fds from 3 up go to the container (activation + preserved). */
  count: number;
  /** KEY=VALUE entries to append to the container's environment. */
  env: string[];
}

/** The number of activation fds passed to this process (0 when they are not meant for it). */
export function listenFdCount(env: NodeJS.ProcessEnv, pid: number): number {
  const n = env.LISTEN_FDS;
  if (n === undefined || n === '' || !/^\d+$/.test(n)) return 0;
  // sd_listen_fds: the fds belong to the process named by LISTEN_PID; the /bin/sh launcher exec()s
  // node, so tsrun keeps the pid its caller saw.
  if (env.LISTEN_PID !== String(pid)) return 0;
  return Number(n);
}

/** Whether `fd` is open in this process. */
function fdOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

/** Each fd must exist, as runc stats each preserved fd. (Whose it is cannot be told apart: Node
 *  sets close-on-exec on the fds it inherits, so an fd of Node's own with the number is passed
 *  on, as runc passes its own.) */
function checkOpen(first: number, n: number, what: (i: number) => string, isOpen: (fd: number) => boolean): void {
  for (let i = 0; i < n; i++) {
    if (!isOpen(first + i)) throw new TsrunError(`unable to stat ${what(i)}: fd ${first + i} is not open`);
  }
}

export function extraFds(preserveFds: number, env: NodeJS.ProcessEnv = process.env, pid = process.pid, isOpen = fdOpen): ExtraFds {
  const listen = listenFdCount(env, pid);
  checkOpen(3, listen, (i) => `LISTEN_FDS fd ${i} (of ${listen})`, isOpen);
  checkOpen(3 + listen, preserveFds, (i) => `preserved-fd ${i} (of ${preserveFds})`, isOpen);
  return { count: listen + preserveFds, env: listen > 0 ? [`LISTEN_FDS=${listen}`, 'LISTEN_PID=1'] : [] };
}
