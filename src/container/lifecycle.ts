/**
 * start, kill and delete on a container (runtime-spec runtime.md "Operations"), the parts `run`
 * shares with the single commands. Signals always go through a pidfd opened and then checked
 * against the recorded start time, so a recycled pid is never signalled.
 */

import { closeSync, constants as C, openSync, readSync, unlinkSync } from 'node:fs';
import { NotFoundError, TsrunError } from '../errors.js';
import { runHooks, runHooksWarnOnly } from '../hooks.js';
import { logWarn } from '../log.js';
import type { Native } from '../native/types.js';
import { isAlive, listPids, pidNamespaceOf, readStat, startTimeOf } from '../process/procfs.js';
import { Container, loadContainer } from './container.js';
import { checkAction } from './status.js';
import { killCgroup, managerOf, teardownCgroup } from './cgroup.js';
import { CorruptStateError, type Store } from './store.js';
import { removeIntelRdt } from '../resctrl/index.js';

const SIGKILL = 9;
/** How long `start` waits on the exec fifo before checking that the init still lives. */
const FIFO_POLL_MS = 50;

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** A pidfd for `pid` only if it is still the process that started at `startTime`. */
export function openVerifiedPidfd(nat: Native, pid: number, startTime: string): number | null {
  if (pid <= 0) return null;
  let fd: number;
  try {
    fd = nat.pidfdOpen(pid);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return null;
    throw e;
  }
  // Checked after opening: the pidfd pins the process, so a match now means it is ours.
  if (startTimeOf(pid) !== startTime) {
    closeSync(fd);
    return null;
  }
  return fd;
}

function sendSignal(nat: Native, pidfd: number, sig: number): boolean {
  try {
    nat.pidfdSendSignal(pidfd, sig);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  } finally {
    closeSync(pidfd);
  }
}

/** Signal the init, or with `all` every process in the container's pid namespace. */
export function signalContainer(nat: Native, c: Container, sig: number, all: boolean): void {
  const { pid, pidStartTime } = c.state;
  const cg = all ? managerOf(c.state) : null;
  if (cg) {
    // Every process in the cgroup, found by the kernel's accounting (v2 cgroup.kill for SIGKILL).
    cg.killAll(sig);
    return;
  }
  if (all) {
    const ns = pidNamespaceOf(pid);
    if (ns !== null && ns !== pidNamespaceOf('self')) {
      signalNamespace(nat, ns, sig);
      return;
    }
    // Without its own pid namespace the container's processes cannot be told apart from the
    // host's until cgroups arrive (issue 3): only the init is signalled.
    logWarn(`container ${c.id} shares the host pid namespace: --all signals only its init`);
  }
  const fd = openVerifiedPidfd(nat, pid, pidStartTime);
  if (fd === null || !sendSignal(nat, fd, sig)) throw new TsrunError('container not running');
}

function signalNamespace(nat: Native, ns: string, sig: number): void {
  for (const p of listPids()) {
    if (pidNamespaceOf(p) !== ns) continue;
    const st = readStat(p);
    if (st === null) continue;
    const fd = openVerifiedPidfd(nat, p, st.startTime);
    // Re-check after pinning: the pid may have been reused by a host process meanwhile.
    if (fd === null) continue;
    if (pidNamespaceOf(p) !== ns) {
      closeSync(fd);
      continue;
    }
    sendSignal(nat, fd, sig);
  }
}

/** Release a created container: read the exec fifo (unblocking the init), remove it, poststart. */
export function startContainer(nat: Native, store: Store, id: string): Container {
  const lock = store.lock(id, nat);
  try {
    const c = loadContainer(store, id);
    checkAction('start', c.status(), id);
    releaseInit(nat, c);
    try {
      runHooks('poststart', c.state.hooks.poststart, c.ociStateJson('running'));
    } catch (e) {
      // runtime-spec v1.3.0 runtime.md: a failed poststart hook is an error and the container is
      // stopped; the lifecycle then continues with delete.
      const fd = openVerifiedPidfd(nat, c.state.pid, c.state.pidStartTime);
      if (fd !== null) sendSignal(nat, fd, SIGKILL);
      throw e;
    }
    return c;
  } finally {
    lock.release();
  }
}

/** The init blocks in open(exec.fifo, O_WRONLY); opening it for reading lets that open return and
 *  the init writes one byte, runs the startContainer hooks and execve()s. It keeps the write end
 *  (O_CLOEXEC) until execve, so end-of-file means the container process has been executed (or the
 *  init died): runtime-spec runtime.md wants poststart after that, and so after startContainer.
 *  Non-blocking reads, with poll(2) between them: it wakes on the byte and on end-of-file at once,
 *  and its timeout lets an init that died before opening the fifo be noticed, never waited on. */
function releaseInit(nat: Native, c: Container): void {
  const path = c.store.fifoPath(c.id);
  const fd = openSync(path, C.O_RDONLY | C.O_NONBLOCK);
  try {
    const buf = Buffer.alloc(1);
    /** 1: the byte, 0: end-of-file (no writer), -1: a writer but nothing to read yet. */
    const readOnce = (): number => {
      try {
        return readSync(fd, buf, 0, 1, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        return -1;
      }
    };
    for (;;) {
      // Linux reports POLLHUP on a fifo only after a writer has come and gone, so this blocks
      // until the init has written (or closed), or the timeout says to look at whether it lives.
      const ready = nat.pollIn(fd, FIFO_POLL_MS);
      const got = readOnce();
      if (got === 1) break;
      if (!isAlive(c.state.pid, c.state.pidStartTime)) {
        // The init may write its byte, execve and exit between the read above and this check: the
        // byte stays in the fifo while we hold the read end, so read once more before giving up.
        if (readOnce() === 1) break;
        throw new TsrunError('container init exited before start');
      }
      // Ready with end-of-file: a writer came and went without the byte, and poll would keep
      // saying so at once; the pause keeps that from spinning until the init is seen gone.
      if (ready && got === 0) sleepMs(1);
    }
    while (readOnce() !== 0) nat.pollIn(fd, FIFO_POLL_MS);
  } finally {
    closeSync(fd);
  }
  // Without the fifo the container reads as running (container/status.ts).
  unlinkSync(path);
}

/** SIGKILL the init and wait (bounded) until it is gone. */
export function killAndWait(nat: Native, c: Container, timeoutMs = 10000): void {
  const fd = openVerifiedPidfd(nat, c.state.pid, c.state.pidStartTime);
  if (fd === null) return;
  try {
    nat.pidfdSendSignal(fd, SIGKILL);
    if (!nat.pidfdWait(fd, timeoutMs)) throw new TsrunError(`container ${c.id}: init did not exit ${timeoutMs} ms after SIGKILL`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  } finally {
    closeSync(fd);
  }
}

/** Remove a stopped container and run its poststop hooks (failures are warnings). */
export function destroyContainer(c: Container): void {
  const state = c.ociStateJson('stopped');
  // Before the state goes: a cgroup that cannot be removed yet leaves a container delete can retry.
  teardownCgroup(c.state);
  // Only the groups create (or update) made; a pre-configured closID group stays.
  if (c.state.intelRdt) removeIntelRdt(c.state.intelRdt);
  // linux.netDevices are not moved back: config-linux.md says the runtime MUST NOT move them out
  // before deletion; the namespace's end decides their fate (src/container/netdev.ts).
  c.store.remove(c.id);
  runHooksWarnOnly('poststop', c.state.hooks.poststop, state);
}

/** `tsrun delete [--force]`. Returns false when the container did not exist (and --force). */
export function deleteContainer(nat: Native, store: Store, id: string, force: boolean): boolean {
  let lock;
  try {
    lock = store.lock(id, nat);
  } catch (e) {
    if (e instanceof NotFoundError && force) {
      // A directory without its lock file (a create killed between mkdir and the lock, or made by
      // hand) is no container any command could act on; runc's delete --force removes it too. A
      // create racing this fails at its lock and cleans up after itself.
      store.remove(id);
      return false;
    }
    throw e;
  }
  try {
    let c: Container;
    try {
      c = loadContainer(store, id);
    } catch (e) {
      // A directory with a lock but no state (a create that died before writing it), or a state
      // file nobody can read: --force removes what is there; its process, if any, is unknown.
      if ((e instanceof NotFoundError || e instanceof CorruptStateError) && force) {
        if (e instanceof CorruptStateError) logWarn(`${e.message}: removing it without stopping any process`);
        store.remove(id);
        return false;
      }
      throw e;
    }
    const status = c.status();
    if (status !== 'stopped') {
      checkAction(force ? 'forceDelete' : 'delete', status, id);
      killCgroup(c.state);
      killAndWait(nat, c);
    }
    destroyContainer(c);
    return true;
  } finally {
    lock.release();
  }
}
