// docker (dockerd 20.10 from docker.io, containerd-shim-runc-v2 underneath) runs its containers on
// tsrun: run (-t), exec (-t), top, update, pause/unpause, stop, and docker's exit codes for runtime
// errors (125/126/127, which docker derives from the runtime's error wording, CLIENTS.md). Each test
// checks the result through docker and that tsrun did the work: the recorded runtime argv, and
// tsrun's own `state` under the --root docker passed.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupMounts } from '../../conformance/lib/cgroups.js';
import { DockerEnv, dockerSkipReason } from './docker-lib.js';
import { buildBusyboxImage, IMAGE_REF } from './image.js';
import { removePrivateDir } from './daemon.js';

const T = 120000;
const NET = ['--network', 'none'];

/** A v1 hierarchy holding `ctrl`, or undefined (pure cgroup v2 host). */
function v1Mount(ctrl: string): string | undefined {
  return cgroupMounts().find((m) => !m.v2 && m.options.includes(ctrl))?.mountPoint;
}

const memV1 = v1Mount('memory');
const cpuV1 = v1Mount('cpu');
const pidsV1 = v1Mount('pids');
const cpusetV1 = v1Mount('cpuset');
const v2Root = cgroupMounts().find((m) => m.v2 && m.mountPoint === '/sys/fs/cgroup')?.mountPoint;

describe.skipIf(!!dockerSkipReason)(`docker on tsrun${dockerSkipReason ? ` (skipped: ${dockerSkipReason})` : ''}`, () => {
  let env: DockerEnv;
  let imageDir: string;

  beforeAll(async () => {
    imageDir = mkdtempSync(join(tmpdir(), 'tsrun-docker-image-'));
    const image = buildBusyboxImage(imageDir);
    env = await DockerEnv.start();
    expect(await env.ok(['load', '-i', image.archive])).toContain(`Loaded image: ${IMAGE_REF}`);
    expect(await env.ok(['image', 'inspect', '--format', '{{.Id}}', IMAGE_REF])).toBe(image.configDigest);
  }, T);

  afterAll(async () => {
    try {
      await env?.stop();
    } finally {
      env?.removeAll();
      if (imageDir) removePrivateDir(imageDir);
    }
  }, T);

  it('run: output and exit status propagate; docker called tsrun create/start/delete with its bundle and --root', async () => {
    const r = await env.docker(['run', '--name', 'exit3', ...NET, IMAGE_REF, 'sh', '-c', 'echo "hello $(hostname)"; cat /proc/self/cgroup; exit 3'], { timeoutMs: 60000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(3);
    const id = await env.ok(['inspect', '--format', '{{.Id}}', 'exit3']);
    expect(r.stdout).toContain(`hello ${id.slice(0, 12)}`);
    // The process sits in the cgroup docker asked for (cgroupsPath /tsrun-clients-docker/<id>).
    expect(r.stdout).toContain(`/${env.cgroupParent}/${id}`);
    expect(await env.ok(['inspect', '--format', '{{.State.ExitCode}}', 'exit3'])).toBe('3');

    const calls = env.callsFor(id);
    const create = calls.find((c) => c[0] === 'create');
    expect(create).toBeDefined();
    expect(create).toContain('--bundle');
    expect(create).toContain('--pid-file');
    expect(calls.map((c) => c[0])).toEqual(['create', 'start', 'delete', 'delete']);
    // Every call carries docker's runtime root under the private exec root, and a JSON --log.
    const root = env.runtimeRoot();
    expect(root?.startsWith(`${env.execRoot}/`)).toBe(true);
    for (const c of env.runtimeCalls().filter((x) => x.includes(id))) {
      expect(c.slice(0, 6)).toEqual(['--root', root, '--log', expect.stringMatching(/\/log\.json$/), '--log-format', 'json']);
    }
    // Deleted: tsrun no longer knows it, nothing left in its cgroup parent for this id.
    expect(env.runtimeState(id)).toBeUndefined();
    expect(existsSync(join(root!, id))).toBe(false);
    expect(env.cgroupDirs().filter((d) => d.includes(id))).toEqual([]);
    await env.ok(['rm', 'exit3']);
  }, T);

  it('run -t: the container gets a pty (create --console-socket)', async () => {
    const r = await env.docker(['run', '--rm', '-t', ...NET, '--name', 'tty1', IMAGE_REF, 'sh', '-c', 'tty; stty size'], { timeoutMs: 60000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\/dev\/pts\/\d+\r?\n/);
    const creates = env.runtimeCalls().map((c) => c.join(' ')).filter((c) => c.includes(' create ') && c.includes('--console-socket'));
    expect(creates.length).toBe(1);
  }, T);

  describe('a running container', () => {
    const name = 'longrun';
    let id = '';

    beforeAll(async () => {
      // busybox sh as pid 1 ignores SIGTERM unless it traps it: the trap makes `docker stop` exit 0.
      id = await env.ok(['run', '-d', '--name', name, ...NET, IMAGE_REF, 'sh', '-c', 'trap "exit 0" TERM; while :; do sleep 0.1; done']);
    }, T);

    it('tsrun runs it: its state under docker\'s --root says running with the pid docker reports', async () => {
      const pid = Number(await env.ok(['inspect', '--format', '{{.State.Pid}}', name]));
      expect(pid).toBeGreaterThan(1);
      const st = env.runtimeState(id);
      expect(st).toEqual(expect.objectContaining({ status: 'running', pid }));
      expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toContain(`/${env.cgroupParent}/${id}`);
      // docker's prestart hook (libnetwork-setkey) ran: dockerd knows the sandbox key.
      expect(await env.ok(['inspect', '--format', '{{.NetworkSettings.SandboxKey}}', name])).toMatch(/netns/);
    }, T);

    it('exec: runs in the container\'s pid namespace, exit status propagates (exec --process --detach --pid-file)', async () => {
      const r = await env.docker(['exec', '-e', 'X=from-exec', name, 'sh', '-c', 'echo "$X"; cat /proc/1/cmdline | tr "\\0" " "; echo; exit 4']);
      expect(r.code).toBe(4);
      expect(r.stdout).toBe('from-exec\nsh -c trap "exit 0" TERM; while :; do sleep 0.1; done \n');
      const execs = env.callsFor(id).filter((c) => c[0] === 'exec');
      expect(execs.length).toBeGreaterThanOrEqual(1);
      expect(execs[0]).toEqual(expect.arrayContaining(['--process', '--detach', '--pid-file']));
      // The exec's own user and cwd (docker exec -u/-w end up in the --process file).
      expect(await env.ok(['exec', '-u', '65534:65534', '-w', '/tmp', name, 'sh', '-c', 'id -u; id -g; pwd'])).toBe('65534\n65534\n/tmp');
    }, T);

    it('exec -t: a pty inside the container (exec --console-socket)', async () => {
      const r = await env.docker(['exec', '-t', name, 'tty']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^\/dev\/pts\/\d+\r?\n$/);
      expect(env.callsFor(id).some((c) => c[0] === 'exec' && c.includes('--console-socket'))).toBe(true);
    }, T);

    it('top: lists the container\'s processes from tsrun ps --format json', async () => {
      const pid = await env.ok(['inspect', '--format', '{{.State.Pid}}', name]);
      const out = await env.ok(['top', name, '-o', 'pid,args']);
      const lines = out.split('\n').slice(1).map((l) => l.trim());
      expect(lines.some((l) => l.startsWith(`${pid} `) && l.includes('trap "exit 0" TERM'))).toBe(true);
      expect(env.callsFor(id).some((c) => c.join(' ') === `ps --format json ${id}`)).toBe(true);
    }, T);

    it('update: --memory/--memory-swap/--pids-limit/--cpu-shares reach the container\'s cgroup (update --resources -)', async () => {
      await env.ok(['update', '--memory', '64m', '--memory-swap', '128m', '--pids-limit', '50', '--cpu-shares', '512', name]);
      expect(env.callsFor(id).some((c) => c.join(' ') === `update --resources - ${id}`)).toBe(true);
      const read = async (file: string): Promise<string> => await env.ok(['exec', name, 'cat', file]);
      const host = (mount: string, file: string): string => readFileSync(join(mount, env.cgroupParent, id, file), 'utf8').trim();
      if (memV1 !== undefined) {
        expect(await read(`/sys/fs/cgroup/memory/memory.limit_in_bytes`)).toBe(String(64 * 1024 * 1024));
        expect(host(memV1, 'memory.limit_in_bytes')).toBe(String(64 * 1024 * 1024));
        if (existsSync(join(memV1, env.cgroupParent, id, 'memory.memsw.limit_in_bytes'))) {
          expect(host(memV1, 'memory.memsw.limit_in_bytes')).toBe(String(128 * 1024 * 1024));
        }
      } else if (v2Root !== undefined) {
        expect(await read('/sys/fs/cgroup/memory.max')).toBe(String(64 * 1024 * 1024));
        expect(host(v2Root, 'memory.max')).toBe(String(64 * 1024 * 1024));
      }
      if (pidsV1 !== undefined) {
        expect(await read('/sys/fs/cgroup/pids/pids.max')).toBe('50');
        expect(host(pidsV1, 'pids.max')).toBe('50');
      } else if (v2Root !== undefined) {
        expect(await read('/sys/fs/cgroup/pids.max')).toBe('50');
      }
      if (cpuV1 !== undefined) expect(await read('/sys/fs/cgroup/cpu/cpu.shares')).toBe('512');
      // docker records what it asked for, and the container is still running.
      expect(await env.ok(['inspect', '--format', '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.State.Status}}', name])).toBe(`${64 * 1024 * 1024} 50 running`);
    }, T);

    it('pause/unpause: tsrun pause/resume; tsrun\'s state follows, exec refused while paused', async () => {
      await env.ok(['pause', name]);
      expect(env.runtimeState(id)?.status).toBe('paused');
      expect(await env.ok(['inspect', '--format', '{{.State.Status}}', name])).toBe('paused');
      expect((await env.docker(['exec', name, 'true'])).code).not.toBe(0);
      await env.ok(['unpause', name]);
      expect(env.runtimeState(id)?.status).toBe('running');
      expect(await env.ok(['exec', name, 'echo', 'after-unpause'])).toBe('after-unpause');
      const cmds = env.callsFor(id).map((c) => c.join(' '));
      expect(cmds).toEqual(expect.arrayContaining([`pause ${id}`, `resume ${id}`]));
    }, T);

    it('stop: SIGTERM through tsrun kill, the trap exits 0; tsrun then deletes it', async () => {
      const t0 = Date.now();
      await env.ok(['stop', '-t', '30', name]);
      expect(Date.now() - t0).toBeLessThan(20000);
      expect(await env.ok(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', name])).toBe('exited 0');
      const calls = env.callsFor(id);
      expect(calls.some((c) => c.join(' ') === `kill ${id} 15`)).toBe(true);
      expect(calls.some((c) => c[0] === 'kill' && c[2] === '9')).toBe(false);
      expect(calls.at(-1)?.[0]).toBe('delete');
      expect(env.runtimeState(id)).toBeUndefined();
      await env.ok(['rm', name]);
    }, T);
  });

  it('stop of a container ignoring SIGTERM: docker escalates to tsrun kill 9, exit 137', async () => {
    const id = await env.ok(['run', '-d', '--name', 'stubborn', ...NET, IMAGE_REF, 'sh', '-c', 'trap "" TERM; while :; do sleep 0.1; done']);
    await env.ok(['stop', '-t', '1', 'stubborn']);
    expect(await env.ok(['inspect', '--format', '{{.State.ExitCode}}', 'stubborn'])).toBe('137');
    const kills = env.callsFor(id).filter((c) => c[0] === 'kill').map((c) => c.join(' '));
    expect(kills).toEqual(expect.arrayContaining([`kill ${id} 15`, `kill ${id} 9`]));
    await env.ok(['rm', 'stubborn']);
  }, T);

  describe('runtime errors map to docker\'s exit codes as with runc', () => {
    /** docker run --rm that must fail: returns exit code and stderr, checks tsrun kept nothing. */
    async function failingRun(name: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
      const before = env.runtimeCalls().length;
      const r = await env.docker(['run', '--rm', '--name', name, ...NET, ...args], { timeoutMs: 60000 });
      // The runtime was reached (these are its errors, not dockerd's own checks).
      expect(env.runtimeCalls().slice(before).some((c) => c.includes('create'))).toBe(true);
      expect((await env.docker(['inspect', name])).code).not.toBe(0);
      const root = env.runtimeRoot()!;
      const ids = env.runtimeCalls().slice(before).map((c) => c.at(-1)!);
      for (const id of new Set(ids)) {
        expect(existsSync(join(root, id))).toBe(false);
        expect(env.cgroupDirs().filter((d) => d.includes(id))).toEqual([]);
      }
      return { code: r.code, stderr: r.stderr };
    }

    it('a missing executable → 127 (runc\'s "exec: ... no such file or directory")', async () => {
      const r = await failingRun('e127a', [IMAGE_REF, '/nonexistent']);
      expect(r.stderr).toContain('exec: "/nonexistent": stat /nonexistent: no such file or directory');
      expect(r.code).toBe(127);
    }, T);

    it('a command not in PATH → 127 ("executable file not found in $PATH")', async () => {
      const r = await failingRun('e127b', [IMAGE_REF, 'no-such-command']);
      expect(r.stderr).toContain('exec: "no-such-command": executable file not found in $PATH');
      expect(r.code).toBe(127);
    }, T);

    it('a file that is not executable → 126 ("permission denied")', async () => {
      const r = await failingRun('e126', [IMAGE_REF, '/etc/passwd']);
      expect(r.stderr).toContain('exec: "/etc/passwd": permission denied');
      expect(r.code).toBe(126);
    }, T);

    it('a cwd that is a file in the running container (/dev/null) → 125', async () => {
      // docker makes -w a directory in the image's rootfs; /dev is a tmpfs at run time, so the
      // runtime is the one that finds /dev/null is not a directory.
      const r = await failingRun('e125cwd', ['-w', '/dev/null', IMAGE_REF, 'true']);
      // runc says "mkdir /dev/null: not a directory", tsrun runc's chdir wording: either is a 125.
      expect(r.stderr).toMatch(/\/dev\/null.*: not a directory/);
      expect(r.code).toBe(125);
    }, T);

    it('a sysctl value the kernel refuses → 125', async () => {
      const r = await failingRun('e125sysctl', ['--sysctl', 'net.ipv4.ip_forward=bogus', IMAGE_REF, 'true']);
      expect(r.stderr).toMatch(/net[./]ipv4[./]ip_forward/);
      expect(r.stderr.toLowerCase()).toContain('invalid argument');
      expect(r.code).toBe(125);
    }, T);

    it('a sysctl the kernel lacks → 127 as with runc (docker reads "no such file or directory" in any runtime error)', async () => {
      const r = await failingRun('e127sysctl', ['--sysctl', 'net.ipv4.tsrun_no_such_key=1', IMAGE_REF, 'true']);
      expect(r.stderr).toMatch(/net[./]ipv4[./]tsrun_no_such_key.*: no such file or directory/);
      expect(r.code).toBe(127);
    }, T);

    const narrowSkip = cpusetV1 === undefined ? 'no cgroup v1 cpuset hierarchy' : availableParallelism() < 2 ? 'fewer than 2 CPUs' : '';
    it.skipIf(!!narrowSkip)(`a --cpuset-cpus outside the cgroup parent's cpus: the kernel's EACCES → 126${narrowSkip ? ` (skipped: ${narrowSkip})` : ''}`, async () => {
      // dockerd checks --cpuset-cpus against the host's CPUs itself (an error of its own, 125), so
      // the runtime only sees a bad cpuset under a parent narrower than the host: cgroup v1 refuses a
      // cpuset that is not a subset of the parent's with EACCES, which runc reports as
      // "permission denied" too.
      // Each level we make inherits its parent's cpus and mems (a v1 cpuset starts empty), except
      // the last, which gets CPU 0 only.
      let parent = cpusetV1!;
      for (const part of `${env.cgroupParent}/narrow`.split('/')) {
        const d = join(parent, part);
        mkdirSync(d, { recursive: true });
        for (const f of ['cpuset.mems', 'cpuset.cpus']) {
          if (readFileSync(join(d, f), 'utf8').trim() === '') writeFileSync(join(d, f), readFileSync(join(parent, f)));
        }
        parent = d;
      }
      const narrow = parent;
      writeFileSync(join(narrow, 'cpuset.cpus'), '0');
      try {
        const r = await failingRun('e126cpuset', ['--cgroup-parent', `/${env.cgroupParent}/narrow`, '--cpuset-cpus', '1', IMAGE_REF, 'true']);
        expect(r.stderr).toContain('cpuset.cpus');
        expect(r.stderr).toContain('permission denied');
        expect(r.code).toBe(126);
      } finally {
        rmdirSync(narrow);
      }
    }, T);
  });

  it('dockerd and its containerd stop by pid; no process, mount or cgroup of ours is left', async () => {
    const dockerd = env.dockerdPid;
    const containerd = env.containerdPid();
    expect(dockerd).toBeDefined();
    expect(containerd).toBeDefined();
    expect(await env.stop()).toEqual([]);
    for (const pid of [dockerd!, containerd!]) expect(existsSync(`/proc/${pid}`)).toBe(false);
    const left = env.leftovers();
    expect(left.processes).toEqual([]);
    expect(left.mounts).toEqual([]);
    // Only the (empty) parent may remain; no container cgroup does.
    expect(left.cgroups.filter((d) => !d.endsWith(`/${env.cgroupParent}`))).toEqual([]);
    env.removeAll();
    expect(env.hostPathsLeft()).toEqual([]);
    expect(env.leftovers().cgroups).toEqual([]);
    expect(existsSync(env.dir)).toBe(false);
  }, T);
});
