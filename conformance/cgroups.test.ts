import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CGROUP_PARENT, cgroupMounts, check, parseMountinfo, containerState, installCleanup, makeBundle, newId, probe, runContainer,
  skipName, skipNote, skipReason, tsrun, type Bundle,
} from './lib/index.js';

installCleanup();

/** controller name → cgroup path, from /proc/<pid>/cgroup (v1 lines; "" for the v2 line). */
function cgroupsOf(pid: number | 'self', text?: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of (text ?? readFileSync(`/proc/${pid}/cgroup`, 'utf8')).trim().split('\n')) {
    const [, ctrls, path] = line.split(':', 3) as [string, string, string];
    for (const c of ctrls.split(',')) m.set(c, path);
  }
  return m;
}

/** Host directory of a v1 controller's hierarchy, or undefined when not mounted as v1. */
function v1Mount(ctrl: string): string | undefined {
  return cgroupMounts().find((m) => !m.v2 && m.options.includes(ctrl))?.mountPoint;
}

const hasV1 = (c: string): boolean => v1Mount(c) !== undefined;
const v1Note = hasV1('memory') && hasV1('pids') && hasV1('cpu') ? '' : ' (skipped: no cgroup v1 memory/pids/cpu hierarchies)';

async function started(b: Bundle): Promise<{ id: string; pid: number }> {
  b.config.process.args = ['/bin/sleep', '1000'];
  b.write();
  const id = newId();
  const c = await tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir });
  expect(c.stderr).toBe('');
  expect(c.code).toBe(0);
  expect((await tsrun(['start', id])).code).toBe(0);
  return { id, pid: (await containerState(id)).pid! };
}

describe.skipIf(!!skipReason || !!v1Note)(`cgroups (v1 hybrid host)${skipNote || v1Note}`, () => {
  it('the process is placed in linux.cgroupsPath in every hierarchy', async () => {
    const b = await makeBundle();
    const want = `/${CGROUP_PARENT}/${basename(b.dir)}`;
    const { id, pid } = await started(b);
    const cg = cgroupsOf(pid);
    for (const c of ['memory', 'pids', 'cpu', 'devices', 'freezer']) expect(cg.get(c), c).toBe(want);
    await tsrun(['delete', '--force', id]);
  });

  it('memory, pids and cpu limits are written to the container\'s cgroup', async () => {
    const b = await makeBundle();
    b.config.linux.resources = { ...(b.config.linux.resources ?? {}), memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 42 }, cpu: { shares: 512 } };
    const { id, pid } = await started(b);
    const cg = cgroupsOf(pid);
    const file = (ctrl: string, f: string): string => readFileSync(join(v1Mount(ctrl)!, cg.get(ctrl)!, f), 'utf8').trim();
    expect(file('memory', 'memory.limit_in_bytes')).toBe(String(64 * 1024 * 1024));
    expect(file('pids', 'pids.max')).toBe('42');
    expect(file('cpu', 'cpu.shares')).toBe('512');
    await tsrun(['delete', '--force', id]);
  });

  it('pids.limit is enforced inside: forks beyond it fail', async () => {
    const b = await makeBundle({ args: ['/bin/sh', '-c', 'i=0; while [ $i -lt 30 ]; do sleep 5 & i=$((i+1)); done; echo done'] });
    b.config.linux.resources = { ...(b.config.linux.resources ?? {}), pids: { limit: 10 } };
    const r = await runContainer(b);
    expect(r.stderr).toMatch(/can't fork|Resource temporarily unavailable/);
  });

  it('delete removes the container\'s cgroup from every hierarchy', async () => {
    const b = await makeBundle();
    const { id, pid } = await started(b);
    const want = `/${CGROUP_PARENT}/${basename(b.dir)}`;
    const placed = [...cgroupsOf(pid)].filter(([c]) => c !== '' && hasV1(c));
    for (const [c, p] of placed) expect(p, c).toBe(want);
    const dirs = placed.map(([c, p]) => join(v1Mount(c)!, p));
    expect(dirs.length).toBeGreaterThan(0);
    for (const d of dirs) expect(existsSync(d), d).toBe(true);
    expect((await tsrun(['delete', '--force', id])).code).toBe(0);
    for (const d of dirs) expect(existsSync(d), d).toBe(false);
  });

  it('/proc/self/cgroup inside shows the container\'s cgroup (no cgroup namespace)', async () => {
    const b = await makeBundle();
    const r = await probe(b, ['--read', '/proc/self/cgroup']);
    const cg = cgroupsOf('self', check(r, 'read', '/proc/self/cgroup').content);
    expect(cg.get('memory')).toBe(`/${CGROUP_PARENT}/${basename(b.dir)}`);
  });

  // Without a cgroup namespace, runc binds each hierarchy's container cgroup (not the hierarchy
  // root) at /sys/fs/cgroup/<controller>, so the container sees neither the host's tree nor
  // other containers' cgroups.
  it('each cgroup v1 mount inside shows only the container\'s own cgroup', async () => {
    const b = await makeBundle();
    const want = `/${CGROUP_PARENT}/${basename(b.dir)}`;
    const r = await probe(b);
    const v1 = parseMountinfo(r.mountinfo).filter((m) => m.fstype === 'cgroup');
    expect(v1.length).toBeGreaterThan(0);
    for (const m of v1) expect(m.root, m.mountPoint).toBe(want);
  });

  // The device cgroup (v1 devices.deny/allow, v2 BPF) gates open(): a node created by linux.devices
  // but not allowed in linux.resources.devices must give EPERM. /dev/loop-control (10:237) is harmless
  // to open and in no runtime's default allow list; allowed, read() fails with EINVAL instead.
  const noLoopCtl = !existsSync('/dev/loop-control');
  it.skipIf(noLoopCtl)(skipName(noLoopCtl, 'linux.resources.devices: a device not allowed cannot be opened; allowed it can', 'no /dev/loop-control on host'), async () => {
    const dev = { path: '/dev/conf-loopctl', type: 'c', major: 10, minor: 237, fileMode: 0o666 };
    const denied = await makeBundle();
    denied.config.linux.devices = [dev];
    const r1 = await probe(denied, ['--read', '/dev/conf-loopctl']);
    expect(check(r1, 'read', '/dev/conf-loopctl')).toMatchObject({ ok: false, errno: 1 });
    const allowed = await makeBundle();
    allowed.config.linux.devices = [dev];
    const rules = ((allowed.config.linux.resources?.devices as unknown[] | undefined) ?? []).slice();
    rules.push({ allow: true, type: 'c', major: 10, minor: 237, access: 'rwm' });
    allowed.config.linux.resources = { ...(allowed.config.linux.resources ?? {}), devices: rules };
    const r2 = await probe(allowed, ['--read', '/dev/conf-loopctl']);
    expect(check(r2, 'read', '/dev/conf-loopctl')).toMatchObject({ ok: false, errno: 22 });
  });

  it('update --resources - changes limits of a running container', async () => {
    const b = await makeBundle();
    b.config.linux.resources = { ...(b.config.linux.resources ?? {}), memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 42 } };
    const { id, pid } = await started(b);
    const cg = cgroupsOf(pid);
    expect(cg.get('memory')).toBe(`/${CGROUP_PARENT}/${basename(b.dir)}`);
    const file = (ctrl: string, f: string): string => readFileSync(join(v1Mount(ctrl)!, cg.get(ctrl)!, f), 'utf8').trim();
    const u = await tsrun(['update', '--resources', '-', id], { input: JSON.stringify({ memory: { limit: 96 * 1024 * 1024 }, pids: { limit: 77 } }) });
    expect(u.stderr).toBe('');
    expect(u.code).toBe(0);
    expect(file('memory', 'memory.limit_in_bytes')).toBe(String(96 * 1024 * 1024));
    expect(file('pids', 'pids.max')).toBe('77');
    const f = await tsrun(['update', '--pids-limit', '55', id]);
    expect(f.code).toBe(0);
    expect(file('pids', 'pids.max')).toBe('55');
    await tsrun(['delete', '--force', id]);
  });
});
