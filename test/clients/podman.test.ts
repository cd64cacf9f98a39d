// podman 4.3 runs its containers on tsrun (issue 4, "Real clients"): run, exec (with and without a
// terminal), run -t, pause/unpause, update, kill, stop, rm, and runtime errors mapped to 126/127.
// Each test checks the behaviour through podman and, through a logging wrapper around bin/tsrun,
// that tsrun did the work with the calls CLIENTS.md records (conmon: create; podman: the rest).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipReason, tsrunBin } from '../../conformance/lib/index.js';
import { mountsUnder } from './daemon.js';
import {
  callsFor,
  createdIds,
  IMAGE_FQ,
  leftoverContainerCgroups,
  ourProcesses,
  podmanMissing,
  run,
  setupPodman,
  subcommand,
  teardownPodman,
  TSRUN_DEFAULT_ROOT,
  type Podman,
  type RuntimeCall,
} from './podman-lib.js';

const reason = skipReason || podmanMissing();
const T = 120_000;

/** Host files podman touches by default and this test must not: their mtime (or absence) before and after. */
const HOST_FILES = ['/var/lib/containers/cache/blob-info-cache-v1.boltdb', '/dev/shm/libpod_lock', '/run/libpod/alive'];
function hostFileStamps(): string[] {
  const stamps = HOST_FILES.map((f) => (existsSync(f) ? `${f} ${statSync(f).mtimeMs}` : `${f} absent`));
  // The host's /dev/null is every container's stdin here: owner and ctime must not change (a chown
  // of stdio from inside a user namespace would hand it to the container's root).
  const n = statSync('/dev/null');
  return [...stamps, `/dev/null ${n.uid}:${n.gid} ${n.mode.toString(8)} ${n.ctimeMs}`];
}

/** A container cgroup file: the v1 controller's, or the v2 one on a unified host. */
function cgroupFile(p: Podman, id: string, v1: [string, string], v2: string): string {
  const v1Path = join('/sys/fs/cgroup', v1[0], p.cgroupParent, `libpod-${id}`, v1[1]);
  return existsSync(v1Path) ? v1Path : join('/sys/fs/cgroup', p.cgroupParent, `libpod-${id}`, v2);
}

/** `subcommand args-after-it` of each call, e.g. "kill <id> 15". */
function shapes(calls: RuntimeCall[]): string[] {
  return calls.map((c) => {
    const sub = subcommand(c.argv);
    return c.argv.slice(c.argv.indexOf(sub)).join(' ');
  });
}

/** The value of `--flag value` or `--flag=value` in an argv. */
function flag(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i >= 0) return argv[i + 1];
  return argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}

describe.skipIf(!!reason)(`podman runs its containers on tsrun${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let p: Podman;
  let stampsBefore: string[] = [];

  beforeAll(async () => {
    stampsBefore = hostFileStamps();
    p = await setupPodman();
  }, T);

  afterAll(async () => {
    if (p !== undefined) await teardownPodman(p);
  }, T);

  async function podmanOk(args: string[]): Promise<string> {
    const r = await p.podman(args);
    expect(r.code, `podman ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout.trim();
  }

  /**
   * podman rm --force --time 0. podman unmounts the container's userdata/shm tmpfs and then
   * removes the directory; on a loaded machine the umount can meet a mount reference that the
   * kernel drops asynchronously once the killed container's mount namespace is gone (tsrun's
   * delete has by then waited for the init's exit and the cgroup's emptying), so podman reports
   * "unlinkat .../userdata/shm: device or resource busy" and leaves the removal half done (a
   * podman flake seen with runc and crun too: podman issues #3870, #11594). Only that error is
   * retried; the removal must then succeed.
   */
  async function podmanRm(name: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const r = await p.podman(['rm', '--force', '--time', '0', name]);
      if (r.code === 0 || attempt === 4 || !/userdata\/shm: device or resource busy/.test(r.stderr)) {
        expect(r.code, `podman rm --force --time 0 ${name} (attempt ${attempt}): ${r.stderr}`).toBe(0);
        return;
      }
      await new Promise((res) => setTimeout(res, 500));
    }
  }

  async function runDetached(name: string, cmd: string[], opts: string[] = []): Promise<string> {
    return podmanOk(['run', '-d', '--name', name, ...p.runOpts, ...opts, IMAGE_FQ, ...cmd]);
  }

  async function tsrunState(id: string): Promise<{ status: string; pid: number }> {
    // podman passes no --root: tsrun's default root is where its containers are.
    const r = await run(tsrunBin, ['state', id], p.env);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { status: string; pid: number };
  }

  it('run: output, exit status, rlimits and cgroup as configured; conmon creates, podman starts and deletes', async () => {
    const info = await podmanOk(['info', '--format', '{{.Host.OCIRuntime.Path}}']);
    expect(info).toBe(p.wrapper);
    const r = await p.podman(['run', '--rm', '--name', 'pm-run', ...p.runOpts, IMAGE_FQ, 'sh', '-c', 'echo hello from podman; ulimit -Sn; ulimit -Hn; ulimit -Su; ulimit -Hu; grep libpod- /proc/self/cgroup | head -1; exit 3']);
    expect(r.code, r.stderr).toBe(3);
    const out = r.stdout.split('\n');
    expect(out.slice(0, 5)).toEqual(['hello from podman', '1024', '2048', '1000', '2000']);
    const id = new RegExp(`/${p.cgroupParent}/libpod-([0-9a-f]{64})$`).exec(out[5] ?? '')?.[1];
    expect(id, out[5]).toBeDefined();
    const calls = callsFor(p, id!);
    expect(shapes(calls).map((s) => s.split(' ')[0])).toEqual(['create', 'start', 'delete']);
    const create = calls[0]!.argv;
    // conmon's call: JSON log (runtime_supports_json), bundle and pid file, no --root.
    expect(create).toContain('--log-format=json');
    expect(flag(create, '--log')).toMatch(/\/userdata\/oci-log$/);
    expect(flag(create, '--bundle')).toMatch(/\/userdata$/);
    expect(flag(create, '--pid-file')).toMatch(/\/userdata\/pidfile$/);
    expect(create).not.toContain('--root');
    expect(shapes(calls)[2]).toBe(`delete --force ${id}`);
    expect(existsSync(join(TSRUN_DEFAULT_ROOT, id!))).toBe(false);
  }, T);

  it('exec with and without -t joins the running container; tsrun keeps its state in /run/tsrun', async () => {
    const id = await runDetached('pm-exec', ['sleep', '1000']);
    expect(JSON.parse(readFileSync(join(TSRUN_DEFAULT_ROOT, id, 'state.json'), 'utf8'))).toBeTruthy();
    const state = await tsrunState(id);
    expect(state.status).toBe('running');
    expect(String(state.pid)).toBe(await podmanOk(['inspect', '--format', '{{.State.Pid}}', 'pm-exec']));

    const e = await p.podman(['exec', 'pm-exec', 'sh', '-c', `tr '\\0' ' ' < /proc/1/cmdline; echo; grep -c libpod-${id} /proc/self/cgroup; [ -t 0 ] || echo no-tty; exit 5`]);
    expect(e.code, e.stderr).toBe(5);
    const lines = e.stdout.split('\n');
    // The exec'd process sees the container's pid 1: it is in the container's pid namespace.
    expect(lines[0]!.trim()).toBe('sleep 1000');
    expect(Number(lines[1])).toBeGreaterThan(0);
    expect(lines[2]).toBe('no-tty');

    const t = await p.podmanOnPty(['exec', '-t', 'pm-exec', 'sh', '-c', 'tty; [ -t 0 ] && [ -t 1 ] && echo on-a-tty; exit 4']);
    expect(t.code, t.stderr).toBe(4);
    expect(t.stdout).toMatch(/^\/dev\/pts\/\d+\r\non-a-tty\r\n/);

    const execs = callsFor(p, id).filter((c) => subcommand(c.argv) === 'exec').map((c) => c.argv);
    expect(execs).toHaveLength(2);
    for (const a of execs) {
      expect(a).toContain('--detach');
      expect(flag(a, '--pid-file')).toBeDefined();
      expect(flag(a, '--process')).toBeDefined();
    }
    expect(execs[0]).not.toContain('--tty');
    expect(execs[1]).toContain('--tty');
    expect(flag(execs[1]!, '--console-socket')).toBeDefined();
    await podmanRm('pm-exec');
  }, T);

  it('run -t: the container gets a terminal through --console-socket', async () => {
    const r = await p.podmanOnPty(['run', '--rm', '-t', ...p.runOpts, IMAGE_FQ, 'sh', '-c', 'tty; [ -t 0 ] && [ -t 1 ] && echo on-a-tty; grep libpod- /proc/self/cgroup | head -1; exit 6']);
    expect(r.code, r.stderr).toBe(6);
    expect(r.stdout).toMatch(/^\/dev\/pts\/\d+\r\non-a-tty\r\n/);
    const id = /libpod-([0-9a-f]{64})/.exec(r.stdout)?.[1];
    expect(id, r.stdout).toBeDefined();
    const create = callsFor(p, id!).find((c) => subcommand(c.argv) === 'create')!.argv;
    expect(flag(create, '--console-socket')).toBeDefined();
  }, T);

  it('pause and unpause freeze and thaw the cgroup; podman calls tsrun without PATH or HOME', async () => {
    const id = await runDetached('pm-pause', ['sleep', '1000']);
    const freezer = cgroupFile(p, id, ['freezer', 'freezer.state'], 'cgroup.freeze');
    await podmanOk(['pause', 'pm-pause']);
    expect(await podmanOk(['inspect', '--format', '{{.State.Status}}', 'pm-pause'])).toBe('paused');
    expect((await tsrunState(id)).status).toBe('paused');
    expect(readFileSync(freezer, 'utf8').trim()).toMatch(/^(FROZEN|1)$/);
    await podmanOk(['unpause', 'pm-pause']);
    expect(await podmanOk(['inspect', '--format', '{{.State.Status}}', 'pm-pause'])).toBe('running');
    expect((await tsrunState(id)).status).toBe('running');
    expect(readFileSync(freezer, 'utf8').trim()).toMatch(/^(THAWED|0)$/);

    const calls = callsFor(p, id).filter((c) => ['pause', 'resume'].includes(subcommand(c.argv)));
    expect(shapes(calls)).toEqual([`pause ${id}`, `resume ${id}`]);
    // CLIENTS.md: tsrun must find node, its addon and oci-init without PATH or HOME.
    for (const c of calls) {
      expect(c.env.has('PATH')).toBe(false);
      expect(c.env.has('HOME')).toBe(false);
    }
    await podmanOk(['rm', '--force', '--time', '0', 'pm-pause']);
  }, T);

  it('update changes memory and cpu limits through tsrun update --resources', async () => {
    const id = await runDetached('pm-update', ['sleep', '1000']);
    await podmanOk(['update', '--memory', '64m', '--cpu-shares', '512', 'pm-update']);
    const mem = cgroupFile(p, id, ['memory', 'memory.limit_in_bytes'], 'memory.max');
    expect(readFileSync(mem, 'utf8').trim()).toBe('67108864');
    const shares = join('/sys/fs/cgroup/cpu', p.cgroupParent, `libpod-${id}`, 'cpu.shares');
    if (existsSync(shares)) expect(readFileSync(shares, 'utf8').trim()).toBe('512');
    const update = callsFor(p, id).filter((c) => subcommand(c.argv) === 'update');
    expect(update).toHaveLength(1);
    expect(flag(update[0]!.argv, '--resources')).toBeDefined();
    await podmanOk(['rm', '--force', '--time', '0', 'pm-update']);
  }, T);

  it('kill delivers the signal and podman sees the exit status the container chose', async () => {
    const id = await runDetached('pm-kill', ['sh', '-c', 'trap "echo got-usr1; exit 7" USR1; echo ready; while :; do sleep 0.1; done']);
    // The trap is set before "ready" is printed; pid 1 ignores USR1 without it.
    for (const deadline = Date.now() + 30000; !(await podmanOk(['logs', 'pm-kill'])).includes('ready'); ) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 100));
    }
    await podmanOk(['kill', '--signal', 'USR1', 'pm-kill']);
    expect(await podmanOk(['wait', 'pm-kill'])).toBe('7');
    expect(await podmanOk(['logs', 'pm-kill'])).toContain('got-usr1');
    expect(shapes(callsFor(p, id))).toContain(`kill ${id} 10`);
    await podmanOk(['rm', 'pm-kill']);
  }, T);

  it('stop sends TERM, then KILL to a container that ignores TERM', async () => {
    // sleep as pid 1 has no handler, so the kernel drops TERM for it.
    const id = await runDetached('pm-stop', ['sleep', '1000']);
    await podmanOk(['stop', '--time', '1', 'pm-stop']);
    expect(await podmanOk(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', 'pm-stop'])).toBe('exited 137');
    const kills = shapes(callsFor(p, id)).filter((s) => s.startsWith('kill '));
    expect(kills).toEqual([`kill ${id} 15`, `kill ${id} 9`]);
    await podmanOk(['rm', 'pm-stop']);
    expect(shapes(callsFor(p, id)).at(-1)).toBe(`delete --force ${id}`);
    expect(existsSync(join(TSRUN_DEFAULT_ROOT, id))).toBe(false);
  }, T);

  it('rm -f kills a running container; tsrun deletes its state and cgroup', async () => {
    const id = await runDetached('pm-rm', ['sleep', '1000']);
    const pid = Number(await podmanOk(['inspect', '--format', '{{.State.Pid}}', 'pm-rm']));
    // --time 0: no grace period, so podman goes straight to SIGKILL (CLIENTS.md: "rm -f: RT kill <id> 9").
    await podmanOk(['rm', '--force', '--time', '0', 'pm-rm']);
    expect(shapes(callsFor(p, id)).slice(2)).toEqual([`kill ${id} 9`, `delete --force ${id}`]);
    expect(existsSync(join(TSRUN_DEFAULT_ROOT, id))).toBe(false);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(leftoverContainerCgroups(p).filter((d) => d.endsWith(id))).toEqual([]);
  }, T);

  it("run --uidmap: the container's root is host uid 200000 in a user namespace; exec joins it", async () => {
    const id = await runDetached('pm-userns', ['sleep', '1000'], ['--uidmap', '0:200000:65536', '--gidmap', '0:200000:65536']);
    const pid = await podmanOk(['inspect', '--format', '{{.State.Pid}}', 'pm-userns']);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    expect(status).toMatch(/^Uid:\s+200000\s+200000\s+200000\s+200000$/m);
    expect(status).toMatch(/^Gid:\s+200000\s+200000\s+200000\s+200000$/m);
    const e = await podmanOk(['exec', 'pm-userns', 'sh', '-c', 'tr -s " " < /proc/self/uid_map; id -u; touch /tmp/w && echo writable']);
    expect(e).toBe('0 200000 65536\n0\nwritable'); // podmanOk trims the leading blank
    expect((await tsrunState(id)).status).toBe('running');
    await podmanRm('pm-userns');
  }, T);

  it('run --read-only --tmpfs --device: tmpcopyup tmpfs mounts and device modes with the file type bits', async () => {
    // podman marks its tmpfs mounts tmpcopyup and gives devices stat's st_mode (S_IFCHR|0666).
    const r = await p.podman(['run', '--name', 'pm-ro', '--read-only', '--tmpfs', '/scratch', '--device', '/dev/zero:/dev/pm-zero', ...p.runOpts, IMAGE_FQ, 'sh', '-c',
      'touch /x 2>/dev/null || echo root-ro; echo y > /scratch/y && cat /scratch/y; stat -c "%n %a" /run /tmp; [ -c /dev/pm-zero ] && stat -c "%a %t:%T" /dev/pm-zero']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('root-ro\ny\n/run 755\n/tmp 1777\n666 1:5\n');
    const id = await podmanOk(['inspect', '--format', '{{.Id}}', 'pm-ro']);
    const bundle = flag(callsFor(p, id).find((c) => subcommand(c.argv) === 'create')!.argv, '--bundle')!;
    const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as { mounts: { destination: string; options?: string[] }[]; linux: { devices: { path: string; fileMode: number }[] } };
    expect(config.mounts.find((m) => m.destination === '/scratch')?.options).toContain('tmpcopyup');
    expect(config.linux.devices.find((d) => d.path === '/dev/pm-zero')?.fileMode).toBe(0o020666);
    await podmanOk(['rm', 'pm-ro']);
  }, T);

  it("runtime errors keep runc's wording: podman maps them to 127 and 126", async () => {
    const missing = await p.podman(['run', '--rm', ...p.runOpts, IMAGE_FQ, '/nonexistent']);
    expect(missing.code, missing.stderr).toBe(127);
    expect(missing.stderr).toContain('exec: "/nonexistent": stat /nonexistent: no such file or directory');
    const denied = await p.podman(['run', '--rm', ...p.runOpts, IMAGE_FQ, '/etc/passwd']);
    expect(denied.code, denied.stderr).toBe(126);
    expect(denied.stderr).toContain('permission denied');
  }, T);

  it('leaves nothing behind: no state, process, mount or container cgroup, host podman files untouched', async () => {
    await podmanOk(['rm', '--all', '--force', '--time', '0']);
    expect(await podmanOk(['ps', '--all', '--quiet'])).toBe('');
    const ids = createdIds(p);
    expect(ids.length).toBeGreaterThanOrEqual(11);
    expect(ids.filter((id) => existsSync(join(TSRUN_DEFAULT_ROOT, id)))).toEqual([]);
    // conmon exits shortly after its container.
    for (const deadline = Date.now() + 10000; ourProcesses(p).length > 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 100));
    expect(ourProcesses(p)).toEqual([]);
    // On failure: which containers, and what the runtime was asked to do with them.
    const left = [...new Set(leftoverContainerCgroups(p).map((d) => d.replace(/^.*libpod-/, '')))];
    expect(left.map((id) => `${id}: ${shapes(callsFor(p, id)).map((s) => s.split(' ')[0]).join(',')}`)).toEqual([]);
    expect(mountsUnder(p.dir)).toEqual([]);
    expect(hostFileStamps()).toEqual(stampsBefore);
  }, T);
});
