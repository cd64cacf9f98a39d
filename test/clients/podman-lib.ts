// podman for the client test, private from top to bottom: storage (--root/--runroot, vfs), libpod's
// tmp dir, events log, network config and locks live in a temp dir, configured through a private
// containers.conf (CONTAINERS_CONF is read instead of every system file). podman has no daemon: each
// command is a process of its own, and conmon stays behind per container; conmon runs `tsrun create`
// and podman runs the other runtime commands. podman passes tsrun no --root, so tsrun keeps these
// containers in its default root /run/tsrun: only ids this test created are ever deleted there.
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { tsrunBin } from '../../conformance/lib/index.js';
import { buildBusyboxImage, IMAGE_FQ } from './image.js';
import { missingBinaries, readOr, runCommand, shq, subcommand, type Result } from './common.js';
import { privateDir, removePrivateDir } from './daemon.js';

export { shq, subcommand, type Result } from './common.js';

/** Top of every cgroup this test makes. Each run gets its own parent below it
 *  (`podman run --cgroup-parent /tsrun-clients-podman/<run>`, cgroupfs manager), so two runs at
 *  once (a developer's and CI's) never see, kill or remove each other's containers. */
export const CGROUP_ROOT = 'tsrun-clients-podman';
/** tsrun's default state root: podman never passes --root. */
export const TSRUN_DEFAULT_ROOT = '/run/tsrun';
export { IMAGE_FQ };

const BINARIES = ['podman', 'conmon', 'unshare', 'script'];

/** Why the podman test cannot run here, or '' when it can. */
export function podmanMissing(): string {
  return missingBinaries(BINARIES);
}

/** A command with this environment and a hard timeout (see common.ts runCommand). */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60000): Promise<Result> {
  return runCommand(cmd, args, { env, timeoutMs });
}

/** One runtime call as the logging wrapper saw it. */
export interface RuntimeCall {
  argv: string[];
  /** The environment the caller gave the runtime (exported variables only). */
  env: Map<string, string>;
}

export interface Podman {
  dir: string;
  /** This run's cgroup parent, relative to each hierarchy's root: tsrun-clients-podman/<run>. */
  cgroupParent: string;
  /** The logging wrapper around bin/tsrun, named `tsrun` so runtime_supports_json matches it. */
  wrapper: string;
  callLog: string;
  env: NodeJS.ProcessEnv;
  /** `podman <global options> args`. */
  podman(args: string[], timeoutMs?: number): Promise<Result>;
  /** The same on a pty (script from bsdutils); the output has \r\n line ends. */
  podmanOnPty(args: string[], timeoutMs?: number): Promise<Result>;
  /** Options every `podman run/create` gets: local image only, no network, our cgroup parent. */
  runOpts: string[];
}

function writeWrapper(dir: string, callLog: string): string {
  const path = join(dir, 'tsrun');
  // One write per call (O_APPEND): conmon and podman may call the runtime at the same time.
  // Arguments end in \x1f, then \x1e, then the exported environment as NAME=value\x1f. dash does
  // not export the PATH it falls back to, so tsrun gets exactly the environment podman gave.
  writeFileSync(path, [
    '#!/bin/sh',
    `rec=$(printf '%s\\037' "$@"; printf '\\036'; env | tr '\\n' '\\037')`,
    `printf '%s\\n' "$rec" >> ${shq(callLog)}`,
    `exec ${shq(tsrunBin)} "$@"`,
    '',
  ].join('\n'));
  chmodSync(path, 0o755);
  return path;
}

function writeConfigs(dir: string): { containersConf: string; storageConf: string; registriesConf: string } {
  const containersConf = join(dir, 'containers.conf');
  // default_ulimits: without them podman asks for nofile/nproc of 1048576, above this VM's hard
  // limits, and the runtime lacks CAP_SYS_RESOURCE to raise them (CLIENTS.md). podman itself lowers
  // its nproc to 32768 at start, so both values stay well below that; the test reads them back.
  // lock_type "file" keeps podman off the host's /dev/shm/libpod_lock.
  writeFileSync(containersConf, [
    '[containers]',
    'default_ulimits = ["nofile=1024:2048", "nproc=1000:2000"]',
    'netns = "none"',
    'log_driver = "k8s-file"',
    '[network]',
    'network_backend = "cni"',
    `network_config_dir = "${dir}/net"`,
    '[engine]',
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    `events_logfile_path = "${dir}/events.log"`,
    'lock_type = "file"',
    `tmp_dir = "${dir}/tmp"`,
    `static_dir = "${dir}/root/libpod"`,
    `volume_path = "${dir}/root/volumes"`,
    'runtime_supports_json = ["tsrun"]',
    '',
  ].join('\n'));
  const storageConf = join(dir, 'storage.conf');
  writeFileSync(storageConf, ['[storage]', 'driver = "vfs"', `graphroot = "${dir}/root"`, `runroot = "${dir}/run"`, ''].join('\n'));
  // No registry is ever asked: images are loaded from a tar and run with --pull never.
  const registriesConf = join(dir, 'registries.conf');
  writeFileSync(registriesConf, 'unqualified-search-registries = []\n');
  return { containersConf, storageConf, registriesConf };
}

export async function setupPodman(): Promise<Podman> {
  const dir = privateDir('podman');
  try {
    for (const d of ['net', 'tmp', 'tmpfiles', 'image']) mkdirSync(join(dir, d));
    const callLog = join(dir, 'runtime-calls.log');
    writeFileSync(callLog, '');
    const wrapper = writeWrapper(dir, callLog);
    const { containersConf, storageConf, registriesConf } = writeConfigs(dir);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: process.env.HOME ?? '/root',
      LANG: 'C',
      TERM: 'xterm',
      CONTAINERS_CONF: containersConf,
      CONTAINERS_STORAGE_CONF: storageConf,
      CONTAINERS_REGISTRIES_CONF: registriesConf,
      // podman update writes the resources file here (os.CreateTemp).
      TMPDIR: join(dir, 'tmpfiles'),
    };
    const globals = [
      '--root', join(dir, 'root'),
      '--runroot', join(dir, 'run'),
      '--storage-driver', 'vfs',
      '--runtime', wrapper,
      '--cgroup-manager', 'cgroupfs',
      '--events-backend', 'file',
      '--tmpdir', join(dir, 'tmp'),
      '--network-config-dir', join(dir, 'net'),
    ];
    const cgroupParent = `${CGROUP_ROOT}/${basename(dir)}`;
    const p: Podman = {
      dir,
      cgroupParent,
      wrapper,
      callLog,
      env,
      podman: (args, timeoutMs) => run('podman', [...globals, ...args], env, timeoutMs),
      podmanOnPty: (args, timeoutMs) => run('script', ['-q', '-e', '-c', ['podman', ...globals, ...args].map(shq).join(' '), '/dev/null'], env, timeoutMs),
      runOpts: ['--pull', 'never', '--network', 'none', '--cgroup-parent', `/${cgroupParent}`],
    };
    const image = buildBusyboxImage(join(dir, 'image'));
    // containers/image records blob digests in /var/lib/containers/cache for root whatever --root
    // says; the load runs in a mount namespace of its own with a tmpfs on /var/lib, so that cache
    // lands in the tmpfs and the host's /var/lib/containers stays untouched. Nothing else a load
    // writes lives under /var/lib (storage is under the private --root).
    const loadLine = `mount -t tmpfs -o mode=0755,size=16m tsrun-podman-varlib /var/lib && exec ${['podman', ...globals, 'load', '-q', '-i', image.archive].map(shq).join(' ')}`;
    const load = await run('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', loadLine], env, 60000);
    if (load.code !== 0) throw new Error(`podman load failed (${load.code}): ${load.stderr}`);
    return p;
  } catch (e) {
    removePrivateDir(dir);
    throw e;
  }
}

/** The runtime calls podman and conmon made, oldest first. */
export function runtimeCalls(p: Podman): RuntimeCall[] {
  return readFileSync(p.callLog, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [args = '', envPart = ''] = l.split('\x1e');
      const env = new Map<string, string>();
      for (const kv of envPart.split('\x1f')) {
        const eq = kv.indexOf('=');
        if (eq > 0) env.set(kv.slice(0, eq), kv.slice(eq + 1));
      }
      return { argv: args.split('\x1f').slice(0, -1), env };
    });
}

/** The calls about one container, as `subcommand rest...` strings without the global options. */
export function callsFor(p: Podman, id: string): RuntimeCall[] {
  return runtimeCalls(p).filter((c) => c.argv.includes(id));
}

/** Container ids this test created (every `create` names one). */
export function createdIds(p: Podman): string[] {
  return runtimeCalls(p)
    .filter((c) => subcommand(c.argv) === 'create')
    .map((c) => c.argv[c.argv.length - 1]!);
}

/** Each hierarchy's root: every v1 controller (hybrid host) and the v2 root. */
function hierarchies(): string[] {
  const base = '/sys/fs/cgroup';
  return [base, ...readdirSync(base).map((e) => join(base, e))];
}

/** This run's cgroup parent in every hierarchy that has it. */
export function ourCgroupDirs(p: Podman): string[] {
  return hierarchies().map((c) => join(c, p.cgroupParent)).filter((d) => existsSync(d));
}

/** Directories below `dir`, deepest first. */
function subdirs(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    out.push(...subdirs(join(dir, e.name)), join(dir, e.name));
  }
  return out;
}

/** Container cgroups (libpod-<id>) left under our parent, in any hierarchy. */
export function leftoverContainerCgroups(p: Podman): string[] {
  return ourCgroupDirs(p).flatMap((d) => readdirSync(d).filter((e) => e.startsWith('libpod-')).map((e) => join(d, e)));
}

/** Removes our cgroup parent (and what conmon left in it: podman's `conmon` child) everywhere, then
 *  the shared top if no other run still uses it. */
export function removeOurCgroups(p: Podman): string[] {
  const failed: string[] = [];
  const rm = (s: string, busyOk: boolean): void => {
    try {
      rmdirSync(s);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // ENOENT: one v1 hierarchy can appear under two names (cpu and cpuacct link to cpu,cpuacct).
      if (code !== 'ENOENT' && !(busyOk && (code === 'EBUSY' || code === 'ENOTEMPTY'))) failed.push(`${s}: ${(e as Error).message}`);
    }
  };
  for (const d of ourCgroupDirs(p)) for (const s of [...subdirs(d), d]) rm(s, false);
  for (const h of hierarchies()) if (existsSync(join(h, CGROUP_ROOT))) rm(join(h, CGROUP_ROOT), true);
  return failed;
}

/** Our processes still alive: conmon of our containers (their argv names our dir) and anything in our cgroups. */
export function ourProcesses(p: Podman): { pid: number; what: string }[] {
  const out: { pid: number; what: string }[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    const cmdline = readOr(`/proc/${e}/cmdline`).split('\0').join(' ').trim();
    const cgroup = readOr(`/proc/${e}/cgroup`);
    if (cmdline.includes(p.dir) || cgroup.includes(`/${p.cgroupParent}/`)) out.push({ pid, what: cmdline });
  }
  return out;
}

/** Everything the test made, removed: containers (through podman), our ids in /run/tsrun, processes, mounts, cgroups. */
export async function teardownPodman(p: Podman): Promise<void> {
  await p.podman(['rm', '--all', '--force', '--time', '0'], 60000).catch(() => undefined);
  for (const id of createdIds(p)) {
    if (existsSync(join(TSRUN_DEFAULT_ROOT, id))) await run(tsrunBin, ['delete', '--force', id], p.env, 30000).catch(() => undefined);
  }
  for (const { pid } of ourProcesses(p)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  // A killed process leaves its cgroup only once it is reaped.
  for (const deadline = Date.now() + 5000; ourProcesses(p).length > 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
  removePrivateDir(p.dir);
  removeOurCgroups(p);
}
