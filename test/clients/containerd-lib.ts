// containerd for the client test, private from top to bottom: its root, state, sockets and opt dir
// live in a temp dir, and it runs in a mount namespace of its own with a tmpfs on /run. The tmpfs
// is there because containerd 1.6 hard-codes /run/containerd for two things no option moves: the
// shims' sockets (/run/containerd/s/<hash>) and ctr's IO fifos (/run/containerd/fifo); the host's
// /run/containerd (another daemon's) is never touched. ctr runs through nsenter into that
// namespace, so it sees the same /run as the daemon and its shims. Snapshot mounts stay in the
// namespace as well and vanish with it.
import { spawn } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupMounts, tsrunBin } from '../../conformance/lib/index.js';
import { missingBinaries, readOr, removeCgroupDirs, runCommand, shq, type Result } from './common.js';
import { privateDir, removePrivateDir, startDaemon, type Daemon } from './daemon.js';

export { shq, subcommand, type Result } from './common.js';

/** The containerd namespace the test works in. */
export const CTR_NAMESPACE = 'tsrun-test';
/** Parent of every container cgroup (`ctr run --cgroup /tsrun-clients-ctr/<id>`). */
export const CGROUP_PARENT = 'tsrun-clients-ctr';

const BINARIES = ['containerd', 'ctr', 'containerd-shim-runc-v2', 'nsenter', 'unshare', 'script'];

/** Why the containerd test cannot run here, or '' when it can. */
export function containerdMissing(): string {
  return missingBinaries(BINARIES);
}

/** A command with a hard timeout (see common.ts runCommand). */
export function run(cmd: string, args: string[], timeoutMs = 60000): Promise<Result> {
  return runCommand(cmd, args, { timeoutMs });
}

export interface Watcher {
  /** Output so far. */
  output(): string;
  /** Kills the command (its process group) and returns everything it printed. */
  stop(): Promise<string>;
}

/** Starts a long-running command (e.g. `ctr events`) whose output the test reads as it comes. */
export function watch(cmd: string, args: string[]): Watcher {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const closed = new Promise<void>((r) => child.on('close', () => r()));
  return {
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await closed;
      return out;
    },
  };
}

export interface Containerd {
  dir: string;
  daemon: Daemon;
  /** `ctr --runc-root`; the shim hands the runtime `--root <runcRoot>/<namespace>`. */
  runcRoot: string;
  /** The runtime's state root as the shim passes it. */
  stateRoot: string;
  /** The logging wrapper around bin/tsrun given to `ctr run --runc-binary`. */
  wrapper: string;
  /** One line per runtime call, arguments separated by \x1f. */
  callLog: string;
  /**
   * The daemon's mount namespace (readlink of /proc/<pid>/ns/mnt). `mountNsFd` keeps it alive
   * until teardown: a freed namespace's inode number is reused, and a later namespace (another
   * test's container) must never look like ours.
   */
  mountNs: string;
  mountNsFd: number;
  /** The ctr argv (through nsenter) up to the subcommand. */
  ctrArgv(): string[];
  ctr(args: string[], timeoutMs?: number): Promise<Result>;
  /** `ctr args` on a pty of `rows`x`cols` (script from bsdutils); the output has \r\n line ends. */
  ctrOnPty(args: string[], size: { rows: number; cols: number }, timeoutMs?: number): Promise<Result>;
  /** `ctr run` options every test passes: the wrapper, the private runc root and a cgroup of ours. */
  runOpts(id: string): string[];
}

function writeConfig(dir: string): string {
  const path = join(dir, 'config.toml');
  // Only what a `ctr run` needs: no CRI, no snapshotters that probe host devices; every path private.
  writeFileSync(path, [
    'version = 2',
    `root = "${dir}/root"`,
    `state = "${dir}/state"`,
    'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]',
    '[grpc]',
    `  address = "${dir}/containerd.sock"`,
    '[ttrpc]',
    `  address = "${dir}/containerd.sock.ttrpc"`,
    '[debug]',
    '  address = ""',
    '  level = "debug"',
    '[metrics]',
    '  address = ""',
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = "${dir}/opt"`,
    '',
  ].join('\n'));
  return path;
}

function writeWrapper(dir: string, callLog: string): string {
  const path = join(dir, 'tsrun-logged');
  // One write per call (O_APPEND): the shim runs the runtime concurrently for different tasks.
  writeFileSync(path, [
    '#!/bin/sh',
    `sep=$(printf '\\037')`,
    'line=',
    'for a in "$@"; do line="$line$a$sep"; done',
    `printf '%s\\n' "$line" >> ${shq(callLog)}`,
    `exec ${shq(tsrunBin)} "$@"`,
    '',
  ].join('\n'));
  chmodSync(path, 0o755);
  return path;
}

export async function startContainerd(): Promise<Containerd> {
  const dir = privateDir('containerd');
  let daemon: Daemon | undefined;
  let nsFd: number | undefined;
  try {
    const config = writeConfig(dir);
    const callLog = join(dir, 'runtime-calls.log');
    writeFileSync(callLog, '');
    const wrapper = writeWrapper(dir, callLog);
    const runcRoot = join(dir, 'runc-root');
    mkdirSync(runcRoot);
    const sock = join(dir, 'containerd.sock');
    daemon = await startDaemon('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount -t tmpfs -o mode=0755 tsrun-ctr-run /run && exec containerd --config "$0"', config], {
      logFile: join(dir, 'containerd.log'),
      ready: () => existsSync(sock),
    });
    const d = daemon;
    const mountNsFd = openSync(`/proc/${d.pid}/ns/mnt`, 'r');
    nsFd = mountNsFd;
    const mountNs = readlinkSync(`/proc/${d.pid}/ns/mnt`);
    if (readlinkSync(`/proc/self/fd/${mountNsFd}`) !== mountNs) throw new Error('containerd changed namespace while starting');
    const ctrArgv = (): string[] => ['nsenter', '-t', String(d.pid), '-m', '--', 'ctr', '-a', sock, '-n', CTR_NAMESPACE];
    const c: Containerd = {
      dir,
      daemon: d,
      runcRoot,
      stateRoot: join(runcRoot, CTR_NAMESPACE),
      wrapper,
      callLog,
      mountNs,
      mountNsFd,
      ctrArgv,
      ctr: (args, timeoutMs) => {
        const [cmd, ...rest] = ctrArgv();
        return run(cmd!, [...rest, ...args], timeoutMs);
      },
      ctrOnPty: (args, size, timeoutMs) => {
        const line = `stty rows ${size.rows} cols ${size.cols} && exec ${[...ctrArgv(), ...args].map(shq).join(' ')}`;
        return run('script', ['-q', '-e', '-c', line, '/dev/null'], timeoutMs);
      },
      runOpts: (id) => ['--runc-binary', wrapper, '--runc-root', runcRoot, '--cgroup', `/${CGROUP_PARENT}/${id}`],
    };
    // Ready means the socket answers, not only that it exists.
    const deadline = Date.now() + 30000;
    for (;;) {
      const v = await c.ctr(['version'], 10000);
      if (v.code === 0) break;
      if (Date.now() > deadline) throw new Error(`containerd does not answer: ${v.stderr}\n${d.logTail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return c;
  } catch (e) {
    await daemon?.stop();
    if (nsFd !== undefined) closeSync(nsFd);
    removePrivateDir(dir);
    throw e;
  }
}

/** The runtime calls the shim made, oldest first (each an argv without the binary). */
export function runtimeCalls(c: Containerd): string[][] {
  return readFileSync(c.callLog, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\x1f').slice(0, -1));
}

function isLive(pid: string): boolean {
  const stat = readOr(`/proc/${pid}/stat`);
  return stat !== '' && !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

/** Live processes in the daemon's mount namespace (containerd and its shims; never anyone else's). */
export function processesInNamespace(mountNs: string): number[] {
  const found: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || !isLive(p)) continue;
    let ns = '';
    try {
      ns = readlinkSync(`/proc/${p}/ns/mnt`);
    } catch {
      continue;
    }
    if (ns === mountNs) found.push(Number(p));
  }
  return found;
}

/** Our container cgroup directories, per hierarchy: <mount>/tsrun-clients-ctr/<id>. */
export function containerCgroups(): string[] {
  const out: string[] = [];
  for (const m of cgroupMounts()) {
    const parent = join(m.mountPoint, CGROUP_PARENT);
    if (!existsSync(parent)) continue;
    for (const e of readdirSync(parent, { withFileTypes: true })) if (e.isDirectory()) out.push(join(parent, e.name));
  }
  return out;
}

/** Live pids in our container cgroups (all, or those of container `id`). */
export function pidsInContainerCgroups(id?: string): number[] {
  const pids = new Set<number>();
  for (const dir of containerCgroups().filter((d) => id === undefined || d.endsWith(`/${id}`))) {
    for (const l of readOr(join(dir, 'cgroup.procs')).split('\n')) if (l !== '' && isLive(l)) pids.add(Number(l));
  }
  return [...pids];
}

/** Memory limit (bytes) of container `id` as its cgroup says (v1 memory or v2). */
export function memoryLimit(id: string): string {
  for (const m of cgroupMounts()) {
    if (!m.v2 && m.options.includes('memory')) return readOr(join(m.mountPoint, CGROUP_PARENT, id, 'memory.limit_in_bytes')).trim();
  }
  return readOr(join('/sys/fs/cgroup', CGROUP_PARENT, id, 'memory.max')).trim();
}

/** Path of the freezer state file of container `id` (v1 freezer, or v2 cgroup.freeze). */
export function freezerFile(id: string): { path: string; frozen: string; thawed: string } | undefined {
  for (const m of cgroupMounts()) {
    if (!m.v2 && m.options.includes('freezer')) return { path: join(m.mountPoint, CGROUP_PARENT, id, 'freezer.state'), frozen: 'FROZEN', thawed: 'THAWED' };
  }
  const v2 = cgroupMounts().find((m) => m.v2 && m.mountPoint === '/sys/fs/cgroup');
  return v2 ? { path: join(v2.mountPoint, CGROUP_PARENT, id, 'cgroup.freeze'), frozen: '1', thawed: '0' } : undefined;
}

function killAll(pids: number[]): void {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

async function waitGone(pids: () => number[], ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (pids().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

function daemonAlive(c: Containerd): boolean {
  return isLive(String(c.daemon.pid)) && processesInNamespace(c.mountNs).includes(c.daemon.pid);
}

/** Removes every container containerd still has (what a failed test left), without asserting. */
export async function removeAllContainers(c: Containerd): Promise<void> {
  const listed = daemonAlive(c) ? (await c.ctr(['containers', 'ls', '-q'], 20000)).stdout : '';
  for (const id of listed.split('\n').filter((l) => l !== '')) {
    await c.ctr(['task', 'kill', '-a', '-s', 'SIGKILL', id], 20000);
    await c.ctr(['task', 'delete', '-f', id], 20000);
    await c.ctr(['containers', 'rm', id], 20000);
  }
}

/**
 * Tears everything down, also after a failed test: deletes what containerd still has, stops the
 * daemon by pid, kills by pid what is left in our namespace or our container cgroups, deletes
 * runtime state left in our private root, removes our cgroups and the private dir.
 */
export async function teardown(c: Containerd): Promise<void> {
  try {
    await removeAllContainers(c);
    await c.daemon.stop();
    if (existsSync(c.stateRoot)) {
      for (const id of readdirSync(c.stateRoot)) await run(tsrunBin, ['--root', c.stateRoot, 'delete', '--force', id], 20000);
    }
    killAll(processesInNamespace(c.mountNs));
    killAll(pidsInContainerCgroups());
    await waitGone(() => [...processesInNamespace(c.mountNs), ...pidsInContainerCgroups()], 5000);
    removeCgroups();
  } finally {
    closeSync(c.mountNsFd);
    removePrivateDir(c.dir);
  }
}

/** Our container cgroups (empty by now), then the parent in each hierarchy. */
function removeCgroups(): void {
  removeCgroupDirs(containerCgroups(), CGROUP_PARENT, 'containerd test');
}
