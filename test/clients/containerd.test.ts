// containerd (Debian's 1.6 package) runs its containers on tsrun: `ctr run --runc-binary <tsrun>`
// through the runc shim (io.containerd.runc.v2), which calls the runtime as CLIENTS.md records.
// Every test checks what the client reports and, from the runtime's side, that tsrun did the work:
// the shim's calls go through a logging wrapper around bin/tsrun, and tsrun's own `state` reads the
// state root the shim passed with --root. TSRUN_BIN=/usr/sbin/runc runs the same file against runc
// (to check the tests themselves).
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newId, skipReason, tsrunBin } from '../../conformance/lib/index.js';
import { mountsUnder } from './daemon.js';
import { IMAGE_FQ, buildBusyboxImage } from './image.js';
import {
  CTR_NAMESPACE,
  containerCgroups,
  containerdMissing,
  freezerFile,
  memoryLimit,
  pidsInContainerCgroups,
  processesInNamespace,
  removeAllContainers,
  run,
  runtimeCalls,
  startContainerd,
  subcommand,
  teardown,
  watch,
  type Containerd,
  type Result,
} from './containerd-lib.js';

const reason = skipReason || containerdMissing();
const hasSwap = existsSync('/proc/swaps') && readFileSync('/proc/swaps', 'utf8').trim().split('\n').length > 1;
const T = 90000;

let c: Containerd | undefined;

function ctrd(): Containerd {
  if (c === undefined) throw new Error('containerd did not start');
  return c;
}

function okResult(r: Result): string {
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
  return r.stdout;
}

/** `ctr task ls` status of `id` ('' when containerd has no task). */
async function taskStatus(id: string): Promise<string> {
  const out = okResult(await ctrd().ctr(['task', 'ls']));
  const row = out.split('\n').map((l) => l.trim().split(/\s+/)).find((f) => f[0] === id);
  return row?.[2] ?? '';
}

async function waitStatus(id: string, want: string, ms = 20000): Promise<string> {
  const deadline = Date.now() + ms;
  let s = await taskStatus(id);
  while (s !== want && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    s = await taskStatus(id);
  }
  return s;
}

/** Polls `cond` every 50 ms; false when it still fails after `ms`. */
async function waitUntil(cond: () => boolean, ms = 20000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** Whether `pid` has a SIGTERM handler (SigCgt bit 15 in /proc/<pid>/status). */
function catchesSigterm(pid: number): boolean {
  const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(existsSync(`/proc/${pid}/status`) ? readFileSync(`/proc/${pid}/status`, 'utf8') : '');
  return m !== null && (BigInt(`0x${m[1]}`) & (1n << 14n)) !== 0n;
}

/** tsrun's own view of the container, read from the state root the shim uses. */
async function tsrunState(id: string): Promise<{ status: string; pid: number } | undefined> {
  const r = await run(tsrunBin, ['--root', ctrd().stateRoot, 'state', id]);
  return r.code === 0 ? (JSON.parse(r.stdout) as { status: string; pid: number }) : undefined;
}

/** Runtime calls the shim made for `id` since the log held `from` lines. */
function callsFor(id: string, from = 0): string[][] {
  return runtimeCalls(ctrd()).slice(from).filter((a) => a.includes(id));
}

/** A detached container running `args` (stopped and removed by the test or by teardown). */
async function runDetached(id: string, args: string[], ctrOpts: string[] = []): Promise<void> {
  okResult(await ctrd().ctr(['run', '-d', ...ctrOpts, ...ctrd().runOpts(id), IMAGE_FQ, id, ...args]));
  expect(await taskStatus(id)).toBe('RUNNING');
}

async function removeContainer(id: string): Promise<void> {
  await ctrd().ctr(['task', 'kill', '-a', '-s', 'SIGKILL', id]);
  await waitStatus(id, 'STOPPED');
  okResult(await ctrd().ctr(['task', 'delete', id]));
  okResult(await ctrd().ctr(['containers', 'rm', id]));
}

/**
 * Waits in the container until the pty has a size, then prints it: ctr resizes the pty only after
 * `start` returned, so a quick first command can still see 0x0 (with any runtime). Busybox's
 * `stty size` prints nothing, and exits 0, while the size is 0x0. The short sleep after it: once
 * under load ctr showed the lines before but not this last one, written just before the process
 * exited (the shim's pty copy races the exit; tsrun is not in that data path).
 */
const PRINT_SIZE = 'i=0; until s=$(stty size 2>/dev/null); [ -n "$s" ] || [ $i -ge 200 ]; do sleep 0.05; i=$((i+1)); done; echo "size=$s"; sleep 0.3';

describe.skipIf(!!reason)(`containerd: ctr runs its containers on tsrun${reason ? ` (skipped: ${reason})` : ''}`, () => {
  beforeAll(async () => {
    c = await startContainerd();
    const img = join(c.dir, 'image');
    mkdirSync(img);
    const { archive } = buildBusyboxImage(img);
    okResult(await c.ctr(['images', 'import', archive], 60000));
    expect(okResult(await c.ctr(['images', 'ls', '-q']))).toContain(IMAGE_FQ);
  }, 120000);

  // A failed test's containers must not fail the next test's checks.
  afterEach(async () => {
    if (c !== undefined) await removeAllContainers(c);
  }, 60000);

  afterAll(async () => {
    if (c !== undefined) await teardown(c);
  }, 120000);

  it('ctr run: output, exit code, cgroup and the runtime calls the shim made', async () => {
    const id = newId('ctr-run');
    const r = await ctrd().ctr(['run', '--rm', ...ctrd().runOpts(id), IMAGE_FQ, id, 'sh', '-c', 'echo hello from tsrun; grep -E "^[0-9]+:(pids|memory|):" /proc/self/cgroup; exit 7']);
    expect(r.code, r.stderr).toBe(7);
    expect(r.stdout).toContain('hello from tsrun');
    for (const line of r.stdout.split('\n').filter((l) => /^\d+:/.test(l))) expect(line).toMatch(new RegExp(`:/tsrun-clients-ctr/${id}$`));
    const calls = callsFor(id);
    expect(calls.map(subcommand)).toEqual(['create', 'start', 'delete', 'delete']);
    const bundle = join(ctrd().dir, 'state', 'io.containerd.runtime.v2.task', CTR_NAMESPACE, id);
    // The global options the shim always passes (CLIENTS.md): our root, its JSON log in the bundle.
    for (const a of calls) expect(a.slice(0, 6)).toEqual(['--root', ctrd().stateRoot, '--log', join(bundle, 'log.json'), '--log-format', 'json']);
    expect(calls[0]).toEqual(expect.arrayContaining(['--bundle', bundle, '--pid-file', join(bundle, 'init.pid')]));
    expect(calls[3]).toContain('--force');
    expect(existsSync(join(ctrd().stateRoot, id))).toBe(false);
    expect(containerCgroups().filter((d) => d.endsWith(`/${id}`))).toEqual([]);
  }, T);

  it("ctr run options reach the container: containerd's seccomp profile, --read-only, --cap-drop, --env, --cwd, a read-only bind mount", async () => {
    const id = newId('ctr-opts');
    const share = join(ctrd().dir, 'share');
    mkdirSync(share);
    writeFileSync(join(share, 'f'), 'from-host\n');
    const script = [
      'unshare -U true 2>/dev/null; echo unshare=$?',
      'grep -E "^(Seccomp|CapBnd):" /proc/self/status',
      'echo env=$FOO cwd=$(pwd)',
      'touch /x 2>/dev/null; echo rootfs-write=$?',
      'cat /host/f; touch /host/g 2>/dev/null; echo bind-write=$?',
    ].join('; ');
    const r = await ctrd().ctr(['run', '--rm', '--seccomp', '--read-only', '--cap-drop', 'CAP_NET_RAW', '--env', 'FOO=bar', '--cwd', '/tmp', '--mount', `type=bind,src=${share},dst=/host,options=rbind:ro`, ...ctrd().runOpts(id), IMAGE_FQ, id, 'sh', '-c', script]);
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout;
    // The default profile allows unshare only with CAP_SYS_ADMIN.
    expect(out).toContain('unshare=1\n');
    expect(out).toMatch(/^Seccomp:\s+2$/m);
    const capBnd = BigInt(`0x${/^CapBnd:\s+([0-9a-f]+)$/m.exec(out)?.[1] ?? '0'}`);
    expect(capBnd & (1n << 13n)).toBe(0n); // CAP_NET_RAW
    expect(capBnd & (1n << 0n)).toBe(1n); // CAP_CHOWN stays
    expect(out).toContain('env=bar cwd=/tmp\n');
    expect(out).toContain('rootfs-write=1\n');
    expect(out).toContain('from-host\nbind-write=1\n');
    expect(existsSync(join(share, 'g'))).toBe(false);
  }, T);

  it('ctr run -t: the container gets a pty from tsrun, sized by ctr, and its exit code', async () => {
    const id = newId('ctr-tty');
    const r = await ctrd().ctrOnPty(['run', '-t', '--rm', ...ctrd().runOpts(id), IMAGE_FQ, id, 'sh', '-c', `tty; [ -t 0 ] && [ -t 1 ] && echo stdio-is-tty; ${PRINT_SIZE}; exit 3`], { rows: 27, cols: 91 });
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(r.stdout).toMatch(/\/dev\/pts\/\d+\r*\n/);
    expect(r.stdout).toContain('stdio-is-tty');
    expect(r.stdout).toContain('size=27 91');
    const create = callsFor(id).find((a) => subcommand(a) === 'create');
    expect(create).toContain('--console-socket');
  }, T);

  it('ctr task exec, with and without -t: joins the container, exit codes propagate', async () => {
    const id = newId('ctr-exec');
    await runDetached(id, ['sh', '-c', 'echo $$ > /tmp/init-pid; exec sleep 1000']);
    const from = runtimeCalls(ctrd()).length;
    const plain = await ctrd().ctr(['task', 'exec', '--exec-id', 'e-plain', id, 'sh', '-c', 'echo in-exec; cat /tmp/init-pid; readlink /proc/1/exe; echo fds: $(ls /proc/1/fd); grep -E "^[0-9]+:pids:" /proc/self/cgroup; exit 5']);
    expect(plain.code, plain.stderr).toBe(5);
    // Same mount and pid namespaces as the container (its pid 1 is the init), same cgroup.
    expect(plain.stdout.split('\n').slice(0, 3)).toEqual(['in-exec', '1', '/bin/busybox']);
    // Only stdio: not the shim's socket that create got as fd 3 (CLIENTS.md).
    expect(plain.stdout).toContain('fds: 0 1 2\n');
    expect(plain.stdout).toContain(`:/tsrun-clients-ctr/${id}`);
    const tty = await ctrd().ctrOnPty(['task', 'exec', '-t', '--exec-id', 'e-tty', id, 'sh', '-c', `tty; ${PRINT_SIZE}; exit 4`], { rows: 33, cols: 101 });
    expect(tty.code, tty.stdout + tty.stderr).toBe(4);
    expect(tty.stdout).toMatch(/\/dev\/pts\/\d+\r*\n/);
    expect(tty.stdout).toContain('size=33 101');
    const execs = callsFor(id, from).filter((a) => subcommand(a) === 'exec');
    expect(execs).toHaveLength(2);
    for (const a of execs) expect(a).toEqual(expect.arrayContaining(['--process', '--detach', '--pid-file']));
    expect(execs[0]).not.toContain('--console-socket');
    expect(execs[1]).toContain('--console-socket');
    await removeContainer(id);
  }, T);

  it('ctr task ps, pause and resume: status through ctr task ls, the freezer and tsrun state', async () => {
    const id = newId('ctr-pause');
    await runDetached(id, ['sh', '-c', 'sleep 1000 & sleep 1000 & wait']);
    const st = await tsrunState(id);
    expect(st?.status).toBe('running');
    expect(await waitUntil(() => pidsInContainerCgroups(id).length === 3)).toBe(true);
    const ps = okResult(await ctrd().ctr(['task', 'ps', id]));
    const pids = ps.trim().split('\n').slice(1).map((l) => Number(l.trim().split(/\s+/)[0]));
    expect(pids).toHaveLength(3);
    expect(pids).toContain(st?.pid);
    const bundle = join(ctrd().dir, 'state', 'io.containerd.runtime.v2.task', CTR_NAMESPACE, id);
    expect(Number(readFileSync(join(bundle, 'init.pid'), 'utf8'))).toBe(st?.pid);
    expect(pids.sort()).toEqual(pidsInContainerCgroups(id).sort());
    const freezer = freezerFile(id);
    okResult(await ctrd().ctr(['task', 'pause', id]));
    expect(await taskStatus(id)).toBe('PAUSED');
    expect((await tsrunState(id))?.status).toBe('paused');
    if (freezer) expect(readFileSync(freezer.path, 'utf8').trim()).toBe(freezer.frozen);
    okResult(await ctrd().ctr(['task', 'resume', id]));
    expect(await taskStatus(id)).toBe('RUNNING');
    expect((await tsrunState(id))?.status).toBe('running');
    if (freezer) expect(readFileSync(freezer.path, 'utf8').trim()).toBe(freezer.thawed);
    const subs = callsFor(id).map(subcommand);
    expect(subs).toEqual(expect.arrayContaining(['ps', 'pause', 'resume']));
    expect(callsFor(id).find((a) => subcommand(a) === 'ps')).toEqual(expect.arrayContaining(['--format', 'json']));
    await removeContainer(id);
  }, T);

  it('ctr task kill: SIGTERM reaches a trapping init; kill -a SIGKILL ends every process; delete removes the state', async () => {
    const term = newId('ctr-kill');
    await runDetached(term, ['sh', '-c', 'trap "exit 143" TERM; while :; do sleep 0.1; done']);
    // A pid-namespace init ignores SIGTERM until its handler is in place: wait for the trap.
    const initPid = (await tsrunState(term))?.pid ?? 0;
    expect(await waitUntil(() => catchesSigterm(initPid))).toBe(true);
    okResult(await ctrd().ctr(['task', 'kill', term]));
    expect(await waitStatus(term, 'STOPPED')).toBe('STOPPED');
    const del = await ctrd().ctr(['task', 'delete', term]);
    expect(del.code, del.stderr).toBe(0);
    expect(del.stderr).toContain('exit code 143');
    expect(callsFor(term).filter((a) => subcommand(a) === 'kill').map((a) => a.slice(-2))).toEqual([[term, '15']]);
    expect(existsSync(join(ctrd().stateRoot, term))).toBe(false);
    okResult(await ctrd().ctr(['containers', 'rm', term]));

    const all = newId('ctr-killall');
    await runDetached(all, ['sh', '-c', 'sleep 1000 & sleep 1000 & wait']);
    expect(await waitUntil(() => pidsInContainerCgroups(all).length === 3)).toBe(true);
    const before = pidsInContainerCgroups(all);
    okResult(await ctrd().ctr(['task', 'kill', '-a', '-s', 'SIGKILL', all]));
    expect(await waitStatus(all, 'STOPPED')).toBe('STOPPED');
    expect(before.filter((p) => existsSync(`/proc/${p}/cmdline`) && readFileSync(`/proc/${p}/cmdline`, 'utf8') !== '')).toEqual([]);
    expect(callsFor(all).find((a) => subcommand(a) === 'kill')?.slice(-4)).toEqual(['kill', '--all', all, '9']);
    okResult(await ctrd().ctr(['task', 'delete', all]));
    expect(existsSync(join(ctrd().stateRoot, all))).toBe(false);
    expect(containerCgroups().filter((d) => d.endsWith(`/${all}`))).toEqual([]);
    okResult(await ctrd().ctr(['containers', 'rm', all]));
  }, T);

  it.skipIf(hasSwap)(`ctr run --memory-limit: tsrun puts the limit where the shim reads metrics and OOM events${hasSwap ? ' (skipped: swap on this host, the OOM killer would not come)' : ''}`, async () => {
    const id = newId('ctr-mem');
    const limit = String(32 << 20);
    await runDetached(id, ['sleep', '1000'], ['--memory-limit', limit]);
    expect(memoryLimit(id)).toBe(limit);
    // The shim finds the cgroup by the config's cgroupsPath, where tsrun made it.
    expect(okResult(await ctrd().ctr(['task', 'metrics', id]))).toContain(limit);
    await removeContainer(id);

    const oom = newId('ctr-oom');
    const events = watch(ctrd().ctrArgv()[0]!, [...ctrd().ctrArgv().slice(1), 'events']);
    let seen = '';
    try {
      const r = await ctrd().ctr(['run', '--rm', '--memory-limit', limit, ...ctrd().runOpts(oom), IMAGE_FQ, oom, 'tail', '/dev/zero']);
      expect(r.code, r.stderr).toBe(137);
      await waitUntil(() => events.output().includes(`/tasks/delete {"container_id":"${oom}"`), 10000);
    } finally {
      seen = await events.stop();
    }
    expect(seen).toMatch(new RegExp(`/tasks/oom \\{"container_id":"${oom}"\\}`));
  }, T);

  it("a runtime error reaches ctr with runc's wording (from tsrun's JSON --log) and leaves nothing", async () => {
    const id = newId('ctr-err');
    const r = await ctrd().ctr(['run', '--rm', ...ctrd().runOpts(id), IMAGE_FQ, id, '/nonexistent']);
    expect(r.code).not.toBe(0);
    // runc 1.1 puts "runc create failed: unable to start container process: " in between.
    expect(r.stderr).toContain('OCI runtime create failed: ');
    expect(r.stderr).toContain('exec: "/nonexistent": stat /nonexistent: no such file or directory');
    expect(callsFor(id).map(subcommand)).toEqual(['create', 'delete']);
    expect(existsSync(join(ctrd().stateRoot, id))).toBe(false);
    expect(containerCgroups().filter((d) => d.endsWith(`/${id}`))).toEqual([]);
    expect(okResult(await ctrd().ctr(['containers', 'ls', '-q'])).split('\n')).not.toContain(id);
  }, T);

  it('leaves nothing behind: no daemon, shim or container process, no state, cgroup or mount', async () => {
    const d = ctrd();
    expect(okResult(await d.ctr(['containers', 'ls', '-q'])).trim()).toBe('');
    await d.daemon.stop();
    // Shims exit once their task is deleted; give a slow machine a moment.
    await waitUntil(() => processesInNamespace(d.mountNs).length === 0, 10000);
    expect(processesInNamespace(d.mountNs)).toEqual([]);
    expect(pidsInContainerCgroups()).toEqual([]);
    expect(containerCgroups()).toEqual([]);
    expect(readdirSync(d.stateRoot)).toEqual([]);
    await teardown(d);
    c = undefined;
    expect(mountsUnder(d.dir)).toEqual([]);
    expect(existsSync(d.dir)).toBe(false);
  }, T);
});
