// dockerd with everything private, running its containers on tsrun: its own data root, exec root,
// socket, pidfile, empty daemon.json and CLI config under one temp directory; no iptables, no
// bridge, no sysctl changes; the containerd it starts lives under the exec root and stops with it.
// The runtime is a small wrapper that records each argv and execs bin/tsrun, so a test can see
// which commands docker ran (compare CLIENTS.md) and that tsrun, not runc, did the work.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { cgroupMounts } from '../../conformance/lib/cgroups.js';
import { skipReason as baseSkipReason, tsrunBin } from '../../conformance/lib/paths.js';
import { removeCgroupDirs, runCommand, type Result } from './common.js';
import { alive, privateDir, removePrivateDir, startDaemon, type Daemon, mountsUnder } from './daemon.js';

export const DOCKERD = '/usr/sbin/dockerd';
/** The packaged client: /usr/local/bin/docker (earlier in PATH here) is a different, newer one. */
export const DOCKER = '/usr/bin/docker';
/**
 * Top of every docker test's cgroups. Each run gets its own parent below it (dockerd
 * --cgroup-parent /tsrun-clients-docker/<run>), so two runs at once never see, count or remove each
 * other's containers.
 */
export const DOCKER_CGROUP_TOP = 'tsrun-clients-docker';

function dockerMissing(): string {
  if (!existsSync(DOCKERD)) return `${DOCKERD} missing (package docker.io)`;
  if (!existsSync(DOCKER)) return `${DOCKER} missing (package docker.io)`;
  if (spawnSync('containerd', ['--version']).status !== 0) return 'containerd missing (package containerd)';
  return '';
}

/** Why the docker tests cannot run here, or ''. */
export const dockerSkipReason: string = baseSkipReason || dockerMissing();

/**
 * Host paths dockerd 20.10 writes whatever its flags say: the trust key (always
 * /etc/docker/key.json for root), the plugin exec root (hard-coded /run/docker/plugins, kept short
 * for socket paths) and containerd-shim-runc-v2's socket directory (/run/containerd/s). Those that
 * did not exist before the daemon started are removed after it stops (rmdir: only if empty), so
 * the test leaves the host as it found it and never touches what was already there.
 */
const HOST_FILES = ['/etc/docker/key.json'];
const HOST_DIRS = ['/run/docker/plugins', '/run/docker', '/run/containerd/s', '/run/containerd'];

export type CmdResult = Result;

/** One runtime invocation as the wrapper recorded it (args split on spaces: docker's have none). */
export type RuntimeCall = string[];

export class DockerEnv {
  readonly dir: string;
  readonly argvLog: string;
  readonly env: NodeJS.ProcessEnv;
  /** This run's cgroup parent, relative to each hierarchy's root (no leading slash). */
  readonly cgroupParent: string;
  private daemon: Daemon | undefined;
  private stopped = false;
  /** HOST_FILES and HOST_DIRS absent before the daemon started: ours to remove. */
  private readonly hostPathsCreated: string[] = [...HOST_FILES, ...HOST_DIRS].filter((p) => !existsSync(p));

  private constructor(dir: string) {
    this.dir = dir;
    this.argvLog = join(dir, 'runtime-argv.log');
    this.cgroupParent = `${DOCKER_CGROUP_TOP}/${basename(dir)}`;
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('DOCKER_')) delete env[k];
    env.DOCKER_HOST = `unix://${this.socket}`;
    env.DOCKER_CONFIG = join(dir, 'cli-config');
    this.env = env;
  }

  get socket(): string {
    return join(this.dir, 'docker.sock');
  }

  get execRoot(): string {
    return join(this.dir, 'exec');
  }

  get dockerdPid(): number | undefined {
    return this.daemon?.pid;
  }

  /** containerd's pid as dockerd recorded it under the exec root. */
  containerdPid(): number | undefined {
    const f = join(this.execRoot, 'containerd', 'containerd.pid');
    if (!existsSync(f)) return undefined;
    const n = Number.parseInt(readFileSync(f, 'utf8').trim(), 10);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  }

  static async start(): Promise<DockerEnv> {
    const d = new DockerEnv(privateDir('docker'));
    try {
      await d.startDaemon();
    } catch (e) {
      await d.stop();
      throw e;
    }
    return d;
  }

  private async startDaemon(): Promise<void> {
    const wrapper = join(this.dir, 'tsrun-wrapper');
    writeFileSync(wrapper, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${this.argvLog}'\nexec '${tsrunBin}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    mkdirSync(join(this.dir, 'cli-config'));
    // An empty config file of our own, so /etc/docker/daemon.json on the host is never read.
    writeFileSync(join(this.dir, 'daemon.json'), '{}\n');
    const args = [
      '--config-file', join(this.dir, 'daemon.json'),
      '--data-root', join(this.dir, 'data'),
      '--exec-root', this.execRoot,
      '--pidfile', join(this.dir, 'dockerd.pid'),
      '-H', `unix://${this.socket}`,
      '--iptables=false', '--bridge=none', '--ip-forward=false', '--ip-masq=false',
      '--userland-proxy=false',
      '--add-runtime', `tsrun=${wrapper}`,
      '--default-runtime', 'tsrun',
      '--cgroup-parent', `/${this.cgroupParent}`,
      '--exec-opt', 'native.cgroupdriver=cgroupfs',
      // vfs: a plain directory per container, works on any /tmp (overlay2 fails on an overlay /tmp).
      '--storage-driver', 'vfs',
      '--shutdown-timeout', '5',
    ];
    const env = { ...this.env };
    delete env.DOCKER_HOST;
    this.daemon = await startDaemon(DOCKERD, args, {
      logFile: join(this.dir, 'dockerd.log'),
      env,
      timeoutMs: 60000,
      ready: () => existsSync(this.socket) && spawnSync(DOCKER, ['version', '--format', '{{.Server.Version}}'], { env: this.env, timeout: 10000 }).status === 0,
    });
  }

  /** /usr/bin/docker against this daemon; stdin is /dev/null unless `input` is given. */
  async docker(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<CmdResult> {
    return await runCommand(DOCKER, args, { env: this.env, ...opts });
  }

  /** docker, failing the test with its output unless it exits 0; returns trimmed stdout. */
  async ok(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
    const r = await this.docker(args, opts);
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}\n-- dockerd log:\n${this.daemon?.logTail(15) ?? ''}`);
    return r.stdout.trim();
  }

  /** Every runtime call so far, in order. */
  runtimeCalls(): RuntimeCall[] {
    if (!existsSync(this.argvLog)) return [];
    return readFileSync(this.argvLog, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' '));
  }

  /** The runtime calls naming container `id`, reduced to the command and its flags (no globals). */
  callsFor(id: string): RuntimeCall[] {
    return this.runtimeCalls()
      .filter((c) => c.includes(id))
      .map(stripGlobals);
  }

  /** The --root docker passed to the runtime (from any recorded call). */
  runtimeRoot(): string | undefined {
    for (const c of this.runtimeCalls()) {
      const i = c.indexOf('--root');
      if (i >= 0) return c[i + 1];
    }
    return undefined;
  }

  /** `tsrun --root <docker's runtime root> state <id>` parsed, or undefined when it fails. */
  runtimeState(id: string): { status: string; pid: number } | undefined {
    const root = this.runtimeRoot();
    if (root === undefined) return undefined;
    const r = spawnSync(tsrunBin, ['--root', root, 'state', id], { encoding: 'utf8', timeout: 20000 });
    if (r.status !== 0) return undefined;
    return JSON.parse(r.stdout) as { status: string; pid: number };
  }

  /** Processes that are ours: anything naming the private dir (containerd, shims) or in our cgroup parent. */
  strayProcesses(): string[] {
    const out: string[] = [];
    for (const p of readdirSync('/proc')) {
      if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
      try {
        const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
        const cg = readFileSync(`/proc/${p}/cgroup`, 'utf8');
        if (cmd.includes(this.dir) || cg.includes(`/${this.cgroupParent}/`) || cg.includes(`/${this.cgroupParent}\n`)) out.push(`${p} ${cmd}`);
      } catch {
        // gone meanwhile
      }
    }
    return out;
  }

  /** What would be left behind now: processes, mounts under the private dir, cgroup directories. */
  leftovers(): { processes: string[]; mounts: string[]; cgroups: string[] } {
    return { processes: this.strayProcesses(), mounts: mountsUnder(this.dir), cgroups: this.cgroupDirs() };
  }

  /**
   * Removes every container (so dockerd's shutdown does not wait on them), stops dockerd by pid,
   * then makes sure its containerd, shims and containers are gone (by pid, SIGKILL as a last resort).
   * Returns the processes that were still there and had to be killed (none when all went well).
   */
  async stop(): Promise<string[]> {
    if (this.stopped) return [];
    this.stopped = true;
    if (this.daemon !== undefined && existsSync(this.socket)) {
      const ids = (await this.docker(['ps', '-aq'], { timeoutMs: 20000 })).stdout.split('\n').filter(Boolean);
      if (ids.length > 0) await this.docker(['rm', '-f', ...ids], { timeoutMs: 60000 });
    }
    const containerd = this.containerdPid();
    await this.daemon?.stop(20000);
    this.daemon = undefined;
    const deadline = Date.now() + 10000;
    while (containerd !== undefined && alive(containerd) && Date.now() < deadline) await sleep(50);
    // Shims exit on their own once their containers are gone; give them a moment.
    const strayDeadline = Date.now() + 5000;
    let strays = this.strayProcesses();
    while (strays.length > 0 && Date.now() < strayDeadline) {
      await sleep(100);
      strays = this.strayProcesses();
    }
    // Last resort after a failed test: shims naming our dir, container processes in our run's own
    // cgroup parent. Both are ours alone; nothing else is signalled.
    for (const line of strays) killPid(Number(line.split(' ')[0]));
    return strays;
  }

  /** After stop(): unmount and remove the private dir, our cgroup parent, the host paths dockerd made. */
  removeAll(): void {
    removePrivateDir(this.dir);
    this.removeCgroups();
    for (const p of this.hostPathsCreated) {
      try {
        if (HOST_FILES.includes(p)) rmSync(p, { force: true });
        else rmdirSync(p);
      } catch {
        // absent, or no longer empty: then not only ours
      }
    }
  }

  /** This run's cgroup directories in every hierarchy (the parent and below), deepest first. */
  cgroupDirs(): string[] {
    return cgroupTree(this.cgroupParent);
  }

  /**
   * rmdir of what is left of this run's cgroup parent (busy ones are kept and reported), then of
   * the shared top if it is empty (it is not while another run uses it: rmdir then fails).
   */
  private removeCgroups(): void {
    removeCgroupDirs(this.cgroupDirs(), DOCKER_CGROUP_TOP, 'docker tests');
  }

  /** Host paths dockerd created that removeAll() has not removed (yet). */
  hostPathsLeft(): string[] {
    return this.hostPathsCreated.filter((p) => existsSync(p));
  }
}

function stripGlobals(c: RuntimeCall): RuntimeCall {
  const out: string[] = [];
  for (let i = 0; i < c.length; i++) {
    if (c[i] === '--root' || c[i] === '--log' || c[i] === '--log-format') i++;
    else out.push(c[i]!);
  }
  return out;
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** `rel`'s directories (and below) in every hierarchy, deepest first. */
function cgroupTree(rel: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
    out.push(d);
  };
  for (const m of cgroupMounts()) {
    const d = join(m.mountPoint, rel);
    if (existsSync(d)) walk(d);
  }
  return out;
}
