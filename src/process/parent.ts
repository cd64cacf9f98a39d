/**
 * The parent side of `tsrun create` (docs/ARCHITECTURE.md "The flow of tsrun create"): state dir
 * and lock, exec fifo, spawn oci-init, user namespace maps, the sync exchange, the prestart and
 * createRuntime hooks, state "created" and --pid-file. A failure anywhere kills the init and
 * removes the state directory: nothing is left behind.
 */

import { chmodSync, closeSync, constants as C, openSync, readSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { InitFailure, TsrunError } from '../errors.js';
import { runHooks } from '../hooks.js';
import { logDebug, logWarn } from '../log.js';
import { Container } from '../container/container.js';
import { Store, writeFileAtomic, STATE_FORMAT, type StateFile } from '../container/store.js';
import type { Native } from '../native/types.js';
import type { BuiltPlan, PlanContext } from '../spec/plan.js';
import type { LinuxResources, Spec } from '../spec/types.js';
import { addTask, removeIntelRdt, setupIntelRdt, type RdtOptions, type RdtState } from '../resctrl/index.js';
import { compileForPlan } from '../seccomp/index.js';
import { plannedV1Dirs } from '../cgroups/manager.js';
import { isRootless } from '../rootless.js';
import { execDefaults } from '../spec/exec-plan.js';
import { cgroupMode, cgroupV1Hierarchies, inUserNamespace, lastCap, startTimeOf, userName } from './procfs.js';
import { userNsSpawnOptions } from './idmap.js';
import { prepareIdmapMounts, type IdmapFds } from './idmap-mounts.js';
import { destroyQuietly } from './cgroup-setup.js';
import { NetDevices } from '../container/netdev.js';
import type { CgroupManager } from '../cgroups/manager.js';
import { ProtocolCursor, decodeChildMessage, encodeFrame, MAX_FRAME, type ChildMessage, type ParentMessage } from './protocol.js';
import { extraFds } from './extra-fds.js';
import { checkTerminal as checkTerminalFlags, closeConsoleTarget, consoleTarget, receiveUntilReady, type ConsoleTarget } from './console.js';

/** O_PATH: a handle on the fifo that does not open it (opening would block without a reader). */
const O_PATH = 0o10000000;
const SIGKILL = 9;

/** The byte stream to oci-init; replaceable so unit tests can script the child's side. */
export interface SyncChannel {
  send(msg: ParentMessage): void;
  /** Next message from the child; `before` names what the parent waits for, for the EOF error. */
  receive(before: string): ChildMessage;
  /** The fd-carrying message that follows a `pty` frame (recvmsg SCM_RIGHTS). */
  receiveFd?(): { fd: number; data: string };
  /** Blocks until the child's end is closed (end-of-file); a frame instead is a protocol error. */
  waitClosed?(): void;
  close(): void;
}

/** Framed messages over the parent's end of the socketpair, read with blocking reads. */
export class SocketChannel implements SyncChannel {
  /** `nat` is needed only to receive the pty master (recvmsg). */
  constructor(
    private readonly fd: number,
    private readonly nat?: Native,
  ) {}

  receiveFd(): { fd: number; data: string } {
    if (!this.nat) throw new TsrunError('sync: channel has no native access to receive the pty master');
    try {
      return this.nat.recvFd(this.fd);
    } catch (e) {
      throw new TsrunError(`container init exited before sending the pty master (${(e as Error).message})`);
    }
  }

  send(msg: ParentMessage): void {
    const frame = encodeFrame(msg);
    let off = 0;
    try {
      while (off < frame.length) off += writeSync(this.fd, frame, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EPIPE') throw new TsrunError(`container init exited before ${msg.type}`);
      throw e;
    }
  }

  /** One read: 0 at end-of-file (a reset counts as one), EAGAIN/EINTR retried. */
  private readSome(buf: Buffer, off: number): number {
    for (;;) {
      try {
        return readSync(this.fd, buf, off, buf.length - off, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EINTR') continue;
        if (code === 'ECONNRESET') return 0;
        throw e;
      }
    }
  }

  private readExact(n: number, before: string): Buffer {
    const buf = Buffer.alloc(n);
    for (let off = 0; off < n; ) {
      const got = this.readSome(buf, off);
      if (got === 0) throw new TsrunError(`container init exited before ${before}`);
      off += got;
    }
    return buf;
  }

  receive(before: string): ChildMessage {
    const len = this.readExact(4, before).readUInt32LE(0);
    if (len > MAX_FRAME) throw new TsrunError(`sync: child sent a frame of ${len} bytes (limit ${MAX_FRAME})`);
    return decodeChildMessage(this.readExact(len, before));
  }

  waitClosed(): void {
    if (this.readSome(Buffer.alloc(1), 0) !== 0) throw new TsrunError('sync: child sent data after ready');
  }

  close(): void {
    closeSync(this.fd);
  }
}

export interface CreateOptions {
  id: string;
  /** Bundle directory as given (--bundle, default "."). */
  bundle: string;
  root: string;
  pidFile?: string;
  consoleSocket?: string;
  /** false for a foreground `run` (tsrun stays and can proxy a terminal); create and run -d: true. */
  detach?: boolean;
  noPivot: boolean;
  noNewKeyring: boolean;
  preserveFds: number;
}

/** Everything create needs from outside, injectable for unit tests. */
export interface CreateDeps {
  native: Native;
  ociInitPath: string;
  loadBundle(dir: string): { spec: Spec; bundle: string };
  buildPlan(spec: Spec, ctx: PlanContext): BuiltPlan;
  hostContext(): Omit<PlanContext, 'bundle' | 'noPivot'>;
  channel(fd: number): SyncChannel;
  /** Makes and limits the container's cgroup (cgroup-setup.ts setupCgroup); unit tests leave it
   *  out and get no cgroup. */
  cgroup?(spec: Spec, id: string): CgroupManager | undefined;
  /** linux.intelRdt: where resctrl is (default: found in mountinfo); unit tests pass a stand-in. */
  resctrl?: RdtOptions;
}

export interface Created {
  container: Container;
  /** pidfd of the init (tsrun is its parent until it exits): `run` waits on it. */
  pidfd: number;
  /** Foreground terminal without --console-socket: the pty master, for the proxy (run). */
  pty?: number;
}

/** The host facts buildPlan needs, read once per create. */
export function hostPlanContext(nat: Native): Omit<PlanContext, 'bundle' | 'noPivot'> {
  const nofileHard = nat.getrlimit(nat.constants.RLIMIT_NOFILE as number);
  const soft = process.env.TSRUN_NOFILE_SOFT;
  const mode = cgroupMode();
  return {
    lastCap: lastCap(),
    // Node raised the soft limit at start-up; the launcher passed on the caller's (SECURITY.md).
    nofile: { soft: soft && /^\d+$/.test(soft) ? soft : nofileHard.soft, hard: nofileHard.hard },
    cgroupMode: mode,
    cgroupV1Hierarchies: mode === 'v2' ? [] : cgroupV1Hierarchies(),
    runningInUserNamespace: inUserNamespace(),
  };
}

function checkTerminal(spec: Spec, opts: CreateOptions): void {
  checkTerminalFlags(spec.process?.terminal ?? false, opts.consoleSocket, opts.detach ?? true);
}

function initialState(opts: CreateOptions, spec: Spec, bundle: string, plan: BuiltPlan): StateFile {
  return {
    format: STATE_FORMAT,
    ociVersion: spec.ociVersion,
    id: opts.id,
    phase: 'creating',
    pid: 0,
    pidStartTime: '',
    creatorPid: process.pid,
    creatorStartTime: startTimeOf(process.pid) ?? '',
    bundle,
    rootfs: plan.init.rootfs,
    annotations: spec.annotations ?? {},
    created: new Date().toISOString(),
    owner: userName(process.getuid?.() ?? 0),
    hooks: { poststart: spec.hooks?.poststart ?? [], poststop: spec.hooks?.poststop ?? [] },
    exec: execDefaults(spec),
    resources: savedResources(spec.linux?.resources),
  };
}

/** What state.json keeps of linux.resources: all but devices, which `update` never changes. */
function savedResources(r: LinuxResources | undefined): LinuxResources | undefined {
  if (r === undefined) return undefined;
  const { devices: _devices, ...rest } = r;
  return rest;
}

/** Runs `tsrun create`; on success the init waits on the exec fifo and state.json says created. */
export function createContainer(opts: CreateOptions, deps: CreateDeps): Created {
  const { spec, bundle } = deps.loadBundle(opts.bundle);
  checkTerminal(spec, opts);
  const host = deps.hostContext();
  // A rootless container may end up without a cgroup of its own (src/rootless.ts), so only a root
  // caller, whose cgroup create cannot be skipped, binds the container's own directories.
  const ownCgroup = !isRootless(undefined) && host.cgroupV1Hierarchies?.length;
  const dirs = ownCgroup ? plannedV1Dirs(spec.linux?.cgroupsPath, opts.id, host.cgroupV1Hierarchies ?? []) : null;
  const cgroupV1Hierarchies = host.cgroupV1Hierarchies?.map((h) => ({ ...h, source: dirs?.get(h.name) }));
  const plan = deps.buildPlan(spec, { ...host, cgroupV1Hierarchies, bundle, noPivot: opts.noPivot });
  for (const w of plan.warnings) logWarn(w);
  // As runc: socket-activation fds (LISTEN_FDS) first, then --preserve-fds, all checked to be
  // the caller's; LISTEN_FDS/LISTEN_PID=1 join the container's environment.
  const extra = extraFds(opts.preserveFds);
  if (extra.env.length > 0) plan.init.process.env.push(...extra.env);
  // Compiled here, in the parent, so oci-init only loads finished BPF (ARCHITECTURE.md).
  compileForPlan(plan.init, plan.seccomp, deps.native);
  const store = new Store(opts.root);
  store.createDir(opts.id);
  let lock: { release(): void } | null = null;
  let pidfd = -1;
  let cg: CgroupManager | undefined;
  let rdt: RdtState | undefined;
  let target: ConsoleTarget | undefined;
  const moved: { netdevs: NetDevices | null } = { netdevs: null };
  try {
    target = consoleTarget(deps.native, spec.process?.terminal ?? false, opts.consoleSocket);
    lock = store.lock(opts.id, deps.native, true);
    const container = new Container(store, initialState(opts, spec, bundle, plan));
    cg = deps.cgroup?.(spec, opts.id);
    if (cg) container.state.cgroup = cg.toState();
    // config-linux.md "IntelRdt": no resctrl mounted is an error; the group exists before the init.
    if (spec.linux?.intelRdt) rdt = container.state.intelRdt = setupIntelRdt(spec.linux.intelRdt, opts.id, deps.resctrl);
    container.save();
    const spawned = spawn(container, plan, { ...opts, preserveFds: extra.count }, deps, cg);
    pidfd = spawned.pidfd;
    // v1 (or a kernel without CLONE_INTO_CGROUP): joined before the first sync message, so
    // oci-init runs no container code outside the cgroup.
    if (cg && !spawned.intoCgroup) cg.addProcess(container.state.pid);
    // Before the first sync message too: no container code runs outside the resctrl group.
    if (rdt) addTask(rdt, container.state.pid);
    logDebug(`create ${opts.id}: oci-init is pid ${container.state.pid} (clone flags 0x${plan.spawn.cloneFlags.toString(16)})`);
    const moveNetDevices = (): void => {
      moved.netdevs = NetDevices.move(deps.native, spec, container.state.pid);
      if (moved.netdevs) container.state.netDevices = moved.netdevs.records();
    };
    const pty = exchange(container, spec, plan, deps.channel(spawned.parentSock), deps.native, target, moveNetDevices);
    container.state.phase = 'created';
    container.save();
    if (opts.pidFile !== undefined) writeFileAtomic(resolve(opts.pidFile), String(container.state.pid));
    return pty === undefined ? { container, pidfd } : { container, pidfd, pty };
  } catch (e) {
    // Before the init dies: a moved virtual device would die with a namespace of its own.
    moved.netdevs?.rollback();
    abandon(store, opts.id, pidfd, deps.native);
    if (cg) destroyQuietly(cg);
    if (rdt) removeRdtQuietly(rdt, deps.resctrl);
    throw e;
  } finally {
    lock?.release();
    closeConsoleTarget(target);
    moved.netdevs?.close();
  }
}

/** Cleanup after a failed create: the error being reported matters more than this one. */
function removeRdtQuietly(rdt: RdtState, opts?: RdtOptions): void {
  try {
    removeIntelRdt(rdt, opts);
  } catch (e) {
    logWarn((e as Error).message);
  }
}

/** Undo a failed create: the init dies (SIGKILL via its pidfd, never by pid) and the state goes. */
function abandon(store: Store, id: string, pidfd: number, nat: Native): void {
  if (pidfd >= 0) {
    try {
      nat.pidfdSendSignal(pidfd, SIGKILL);
      nat.pidfdWait(pidfd, 5000);
    } catch {
      // Already gone: nothing to kill.
    }
  }
  try {
    store.remove(id);
  } catch (e) {
    logWarn(`removing state of failed container ${id}: ${(e as Error).message}`);
  }
}

interface SpawnFds {
  childSock: number;
  fifo: number;
  joins: { fd: number; nstype: number }[];
  pidNs: number;
  cgroup: number;
}

function closeAll(f: Partial<SpawnFds>): void {
  for (const fd of [f.childSock, f.fifo, f.pidNs, f.cgroup, ...(f.joins ?? []).map((j) => j.fd)]) {
    if (fd !== undefined && fd >= 0) closeSync(fd);
  }
}

/** Spawns oci-init (libuv opens every fd O_CLOEXEC: only `fds` reach it); records its pid and
 *  start time; returns its pidfd and the parent's end of the sync socket. */
function spawn(container: Container, plan: BuiltPlan, opts: CreateOptions, deps: CreateDeps, cg?: CgroupManager): { pidfd: number; parentSock: number; intoCgroup: boolean } {
  const nat = deps.native;
  const sp = plan.spawn;
  const fifoPath = container.store.fifoPath(container.id);
  // 0622 as runc: only the owner may read (start), the init (any uid, after it dropped to
  // process.user) may open it for writing. chmod because mkfifo's mode is masked by the umask.
  nat.mkfifo(fifoPath, 0o622);
  chmodSync(fifoPath, 0o622);
  const fds: Partial<SpawnFds> = { joins: [] };
  let parentSock = -1;
  let idmap: IdmapFds | undefined;
  try {
    fds.fifo = openSync(fifoPath, O_PATH);
    [parentSock, fds.childSock] = nat.socketPair();
    for (const j of sp.joinInChild) fds.joins!.push({ fd: openSync(j.path, C.O_RDONLY), nstype: j.nstype });
    fds.pidNs = sp.pidNamespacePath !== null ? openSync(sp.pidNamespacePath, C.O_RDONLY) : -1;
    fds.cgroup = cg ? cg.openForClone() : -1;
    const n = opts.preserveFds;
    const preserved = Array.from({ length: n }, (_, i) => 3 + i);
    idmap = prepareIdmapMounts(nat, plan.init, 5 + n);
    const res = nat.spawnInit({
      initPath: deps.ociInitPath,
      argv: ['oci-init', String(3 + n), String(4 + n), String(n)],
      cloneFlags: sp.cloneFlags,
      unshareFlags: sp.unshareFlags,
      joinInChild: fds.joins!,
      pidNamespaceFd: fds.pidNs,
      cgroupFd: fds.cgroup,
      fds: [0, 1, 2, ...preserved, fds.childSock, fds.fifo, ...idmap.fds],
      // The init must outlive `tsrun create`: no parent-death signal.
      pdeathSignal: 0,
      ...userNsSpawnOptions(sp),
    });
    container.state.pid = res.pid;
    container.state.pidStartTime = startTimeOf(res.pid) ?? '';
    const out = { pidfd: res.pidfd, parentSock, intoCgroup: res.intoCgroup };
    parentSock = -1;
    return out;
  } finally {
    closeAll(fds);
    idmap?.close();
    if (parentSock >= 0) closeSync(parentSock);
  }
}

function expect(ch: SyncChannel, cursor: ProtocolCursor, type: 'mounted'): void {
  const msg = ch.receive(type);
  logDebug(`sync: received ${msg.type}`);
  cursor.step('child->parent', msg.type);
  if (msg.type === 'error') throw new InitFailure(msg.step, msg.syscall, msg.errno, msg.path, msg.message);
}

/** The sync exchange (src/process/protocol.ts order table) with the hooks in between. */
function exchange(
  container: Container, spec: Spec, plan: BuiltPlan, ch: SyncChannel, nat: Native, target: ConsoleTarget | undefined,
  afterMounted: () => void = () => {},
): number | undefined {
  const cursor = new ProtocolCursor();
  try {
    cursor.step('parent->child', 'plan');
    ch.send({ type: 'plan', plan: plan.init });
    expect(ch, cursor, 'mounted');
    // linux.netDevices: every namespace is in place now, and the hooks should find the devices
    // there (src/container/netdev.ts).
    afterMounted();
    // The pid is known now: the hooks see it, and may ask `tsrun state`. Without such hooks the
    // next save (created) comes a few ms later; a concurrent `state` meanwhile reads "creating".
    if ((spec.hooks?.prestart?.length ?? 0) + (spec.hooks?.createRuntime?.length ?? 0) > 0) container.save();
    const createState = container.ociStateJson('creating');
    // runtime-spec config.md: prestart (deprecated) and createRuntime run in the runtime
    // namespace after the container's namespaces exist and before pivot_root.
    runHooks('prestart', spec.hooks?.prestart, createState);
    runHooks('createRuntime', spec.hooks?.createRuntime, createState);
    cursor.step('parent->child', 'resume');
    ch.send({ type: 'resume', createState, startState: container.ociStateJson('created') });
    return receiveUntilReady(nat, ch, cursor, target);
  } finally {
    ch.close();
  }
}
