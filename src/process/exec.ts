/**
 * The parent side of `tsrun exec`: a new process in a running (or created) container. oci-init
 * is spawned as for create but with an exec-mode plan (spec/exec-plan.ts): the addon joins the
 * container's user namespace in the clone child and clones into its pid namespace, oci-init joins
 * the others by /proc/<init>/ns/*, applies the process spec and execve()s right after `ready`
 * (process/protocol.ts EXEC_PROTOCOL_ORDER). A failure before `ready` kills the child: nothing
 * is left behind.
 */

import { closeSync, constants as C, openSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { StatusError, TsrunError } from '../errors.js';
import { logDebug, logWarn } from '../log.js';
import { loadContainer, type Container } from '../container/container.js';
import { openVerifiedPidfd } from '../container/lifecycle.js';
import { Store, writeFileAtomic } from '../container/store.js';
import type { Native, SpawnInitOptions } from '../native/types.js';
import type { BuiltPlan, PlanContext } from '../spec/plan.js';
import type { Process, Spec } from '../spec/types.js';
import {
  buildExecPlan, execDefaults, processFromFile, processFromFlags, type ExecDefaults, type ExecFlags, type ExecPlan,
} from '../spec/exec-plan.js';
import { compileForPlan } from '../seccomp/index.js';
import { EXEC_PROTOCOL_ORDER, ProtocolCursor } from './protocol.js';
import { checkTerminal, closeConsoleTarget, consoleTarget, receiveUntilReady, type ConsoleTarget } from './console.js';
import type { SyncChannel } from './parent.js';

const SIGKILL = 9;

export interface ExecOptions {
  id: string;
  root: string;
  flags: ExecFlags;
  /** --process FILE: the whole process spec; the process flags are then ignored (as runc). */
  processFile?: string;
  detach: boolean;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds: number;
  /** --cgroup [<controller>:]<path>. */
  cgroup?: string;
  /** --ignore-paused: exec even into a frozen container (the process then starts frozen). */
  ignorePaused?: boolean;
}

/** Everything exec needs from outside, injectable for unit tests. */
export interface ExecDeps {
  native: Native;
  ociInitPath: string;
  buildPlan(spec: Spec, ctx: PlanContext): BuiltPlan;
  parseProcess(text: string, file: string): Process;
  loadBundle(dir: string): { spec: Spec; bundle: string };
  hostContext(): Omit<PlanContext, 'bundle' | 'noPivot'>;
  channel(fd: number): SyncChannel;
  /** Places the new process in the container's cgroup (or the --cgroup sub-cgroup) before it is
   *  sent its plan, so none of its setup runs outside the container's limits. */
  joinCgroup(container: Container, pid: number, sub: string | undefined): void;
}

export interface Execed {
  pid: number;
  /** pidfd of the process (tsrun is its parent): foreground exec waits on it. */
  pidfd: number;
  /** Foreground terminal without --console-socket: the pty master, for the proxy. */
  pty?: number;
}

/** runc's wording for the statuses exec refuses. */
function checkExecutable(c: Container, ignorePaused: boolean): void {
  // A string: 'paused' arrives with the cgroup freezer (pause/resume).
  const status: string = c.status();
  if (status === 'stopped') throw new StatusError('cannot exec in a stopped container');
  if (status === 'paused' && !ignorePaused) throw new StatusError('cannot exec in a paused container (use --ignore-paused to override)');
  if (status === 'creating') throw new StatusError('cannot exec in a container that is still being created');
}

function execProcessSpec(opts: ExecOptions, defaults: ExecDefaults, deps: ExecDeps): { process: Process; file: string } {
  if (opts.processFile === undefined) return { process: processFromFlags(defaults, opts.flags), file: 'config.json' };
  const path = resolve(opts.processFile);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new TsrunError(`--process ${opts.processFile}: cannot read`, { cause: (e as NodeJS.ErrnoException).code ?? e });
  }
  return { process: processFromFile(defaults, deps.parseProcess(text, 'process.json')), file: 'process.json' };
}

/** Starts the process; on return it runs (or has been told to execve) inside the container. */
export function execInContainer(opts: ExecOptions, deps: ExecDeps): Execed {
  const c = loadContainer(new Store(opts.root), opts.id);
  checkExecutable(c, opts.ignorePaused ?? false);
  // Pins the init while the namespaces are joined through /proc/<pid>/ns: a recycled pid must
  // never lead the process into someone else's namespaces.
  const initPidfd = openVerifiedPidfd(deps.native, c.state.pid, c.state.pidStartTime);
  if (initPidfd === null) throw new StatusError('cannot exec in a stopped container');
  try {
    const defaults = c.state.exec ?? execDefaults(deps.loadBundle(c.state.bundle).spec);
    const { process: proc, file } = execProcessSpec(opts, defaults, deps);
    // runc's rules (console.ts): a detached terminal needs --console-socket, and only it may have one.
    checkTerminal(proc.terminal ?? false, opts.consoleSocket, opts.detach);
    const ctx = { ...deps.hostContext(), initPid: c.state.pid, rootfs: c.state.rootfs, bundle: c.state.bundle };
    const plan = buildExecPlan(defaults, proc, ctx, deps.buildPlan, file);
    for (const w of plan.warnings) logWarn(w);
    compileForPlan(plan.init, plan.seccomp, deps.native);
    return spawnAndSync(c, plan, opts, deps);
  } finally {
    closeSync(initPidfd);
  }
}

function spawnAndSync(c: Container, plan: ExecPlan, opts: ExecOptions, deps: ExecDeps): Execed {
  // Connected before the spawn: a wrong --console-socket fails with nothing to clean up.
  const target = consoleTarget(deps.native, plan.init.process.terminal, opts.consoleSocket);
  try {
    const { pid, pidfd, parentSock } = spawn(plan, opts, deps);
    try {
      logDebug(`exec ${c.id}: oci-init is pid ${pid}`);
      deps.joinCgroup(c, pid, opts.cgroup);
      plan.init.execState = c.ociStateJson();
      const pty = exchange(plan, deps.channel(parentSock), deps.native, target);
      if (opts.pidFile !== undefined) writeFileAtomic(resolve(opts.pidFile), String(pid));
      return pty === undefined ? { pid, pidfd } : { pid, pidfd, pty };
    } catch (e) {
      kill(deps.native, pidfd);
      throw e;
    }
  } finally {
    closeConsoleTarget(target);
  }
}

function kill(nat: Native, pidfd: number): void {
  try {
    nat.pidfdSendSignal(pidfd, SIGKILL);
    nat.pidfdWait(pidfd, 5000);
  } catch {
    // Already gone.
  }
  closeSync(pidfd);
}

function spawn(plan: ExecPlan, opts: ExecOptions, deps: ExecDeps): { pid: number; pidfd: number; parentSock: number } {
  const nat = deps.native;
  const opened: number[] = [];
  const open = (path: string): number => {
    const fd = openSync(path, C.O_RDONLY);
    opened.push(fd);
    return fd;
  };
  let parentSock = -1;
  try {
    const joins = plan.spawn.joinInChild.map((j) => ({ fd: open(j.path), nstype: j.nstype }));
    const pidNs = plan.spawn.pidNamespacePath !== null ? open(plan.spawn.pidNamespacePath) : -1;
    let childSock: number;
    [parentSock, childSock] = nat.socketPair();
    opened.push(childSock);
    const n = opts.preserveFds;
    const spawnOpts: SpawnInitOptions = {
      initPath: deps.ociInitPath,
      // No exec fifo (-1): the process runs as soon as it is ready.
      argv: ['oci-init', String(3 + n), '-1', String(n)],
      cloneFlags: 0,
      unshareFlags: 0,
      joinInChild: joins,
      pidNamespaceFd: pidNs,
      cgroupFd: -1,
      fds: [0, 1, 2, ...Array.from({ length: n }, (_, i) => 3 + i), childSock],
      // As with runc, an exec'd process outlives a tsrun that dies: no parent-death signal.
      pdeathSignal: 0,
    };
    if (plan.spawn.becomeRoot) spawnOpts.becomeRoot = true;
    const res = nat.spawnInit(spawnOpts);
    const out = { pid: res.pid, pidfd: res.pidfd, parentSock };
    parentSock = -1;
    return out;
  } finally {
    for (const fd of opened) closeSync(fd);
    if (parentSock >= 0) closeSync(parentSock);
  }
}

/** plan -> (pty) -> ready (EXEC_PROTOCOL_ORDER), or the child's error. Returns the pty master
 *  for a foreground terminal (the socket target got it already). */
function exchange(plan: ExecPlan, ch: SyncChannel, nat: Native, target: ConsoleTarget | undefined): number | undefined {
  const cursor = new ProtocolCursor(EXEC_PROTOCOL_ORDER);
  try {
    cursor.step('parent->child', 'plan');
    ch.send({ type: 'plan', plan: plan.init });
    const pty = receiveUntilReady(nat, ch, cursor, target);
    // oci-init keeps its end open until execve (protocol.ts): once it is closed the pid is the
    // container process's, as `exec -d --pid-file` promises its caller.
    ch.waitClosed?.();
    return pty;
  } finally {
    ch.close();
  }
}
