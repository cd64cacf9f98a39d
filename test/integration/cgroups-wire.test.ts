// The cgroup commands beyond the conformance suite (conformance/cgroups.test.ts covers placement,
// limits written, pids enforcement, delete, devices and `update --resources -`): update flags on a
// live limit, bad update input, events --stats and OOM events, nothing left after run/delete of a
// paused container, and the cost of the init under a 1 MiB memory limit. v1/hybrid hosts (this
// machine); the pure v2 side runs in the VM (test/vm/tsrun-v2.suite.ts).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CGROUP_PARENT, cgroupMounts, containerState, installCleanup, makeBundle, newId, skipNote, skipReason, tsrun, waitFor,
  type Bundle,
} from '../../conformance/lib/index.js';

installCleanup();

const MiB = 1024 * 1024;

function v1Mount(ctrl: string): string | undefined {
  return cgroupMounts().find((m) => !m.v2 && m.options.includes(ctrl))?.mountPoint;
}
const memMount = v1Mount('memory');
const v1Note = memMount && v1Mount('pids') && v1Mount('cpu') && v1Mount('freezer') ? '' : ' (skipped: no cgroup v1 memory/pids/cpu/freezer hierarchies)';

/** The container's directory of a v1 controller (bundles get /tsrun-conf/<bundle dir name>). */
const dirOf = (b: Bundle, ctrl: string): string => join(v1Mount(ctrl)!, CGROUP_PARENT, basename(b.dir));
const readCg = (b: Bundle, ctrl: string, file: string): string => readFileSync(join(dirOf(b, ctrl), file), 'utf8').trim();
/** Every hierarchy's directory for the bundle's cgroupsPath. */
const allDirs = (b: Bundle): string[] => cgroupMounts().map((m) => join(m.mountPoint, CGROUP_PARENT, basename(b.dir)));

function withResources(b: Bundle, r: Record<string, unknown>): void {
  b.config.linux.resources = { ...(b.config.linux.resources ?? {}), ...r };
  b.write();
}

async function create(b: Bundle, start = true): Promise<string> {
  const id = newId('cgw');
  const c = await tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir });
  expect(c.stderr).toBe('');
  expect(c.code).toBe(0);
  if (start) expect((await tsrun(['start', id])).code).toBe(0);
  return id;
}

describe.skipIf(!!skipReason || !!v1Note)(`cgroup commands (v1 hybrid host)${skipNote || v1Note}`, () => {
  it('update flags change live limits (memory, cpu quota/period/shares, pids)', async () => {
    const b = await makeBundle({ args: ['/bin/sleep', '1000'] });
    withResources(b, { memory: { limit: 64 * MiB } });
    const id = await create(b);
    const u = await tsrun(['update', '--memory', '96m', '--cpu-quota', '20000', '--cpu-period', '100000', '--cpu-share', '256', '--pids-limit', '33', id]);
    expect(u.stderr).toBe('');
    expect(u.code).toBe(0);
    expect(readCg(b, 'memory', 'memory.limit_in_bytes')).toBe(String(96 * MiB));
    expect(readCg(b, 'cpu', 'cpu.cfs_quota_us')).toBe('20000');
    expect(readCg(b, 'cpu', 'cpu.cfs_period_us')).toBe('100000');
    expect(readCg(b, 'cpu', 'cpu.shares')).toBe('256');
    expect(readCg(b, 'pids', 'pids.max')).toBe('33');
    await tsrun(['delete', '--force', id]);
  });

  it('update --resources FILE; --resources - from stdin; bad JSON and schema errors name the input and change nothing', async () => {
    const b = await makeBundle({ args: ['/bin/sleep', '1000'] });
    withResources(b, { memory: { limit: 64 * MiB } });
    const id = await create(b);
    const file = join(b.dir, 'res.json');
    writeFileSync(file, JSON.stringify({ memory: { limit: 80 * MiB } }));
    expect((await tsrun(['update', '--resources', file, id])).code).toBe(0);
    expect(readCg(b, 'memory', 'memory.limit_in_bytes')).toBe(String(80 * MiB));
    const s = await tsrun(['update', '-r', '-', id], { input: JSON.stringify({ memory: { limit: 72 * MiB } }) });
    expect(s.code).toBe(0);
    expect(readCg(b, 'memory', 'memory.limit_in_bytes')).toBe(String(72 * MiB));
    const bad = await tsrun(['update', '--resources', '-', id], { input: '{"memory": {"limit": ' });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--resources stdin: invalid JSON/);
    const typed = await tsrun(['update', '--resources', '-', id], { input: JSON.stringify({ pids: { limit: 'many' } }) });
    expect(typed.code).not.toBe(0);
    expect(typed.stderr).toMatch(/\/pids\/limit/);
    expect(readCg(b, 'memory', 'memory.limit_in_bytes')).toBe(String(72 * MiB));
    await tsrun(['delete', '--force', id]);
  });

  it('update of a stopped container fails with runc wording', async () => {
    const b = await makeBundle({ args: ['/bin/true'] });
    const id = await create(b);
    expect(await waitFor(async () => (await containerState(id)).status === 'stopped', 5000)).toBe(true);
    const u = await tsrun(['update', '--pids-limit', '5', id]);
    expect(u.code).not.toBe(0);
    expect(u.stderr).toContain('container not running');
    await tsrun(['delete', id]);
  });

  it('events --stats prints one stats event in runc\'s JSON shape', async () => {
    const b = await makeBundle({ args: ['/bin/sleep', '1000'] });
    withResources(b, { memory: { limit: 64 * MiB }, pids: { limit: 50 } });
    const id = await create(b);
    const r = await tsrun(['events', '--stats', id]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const ev = JSON.parse(lines[0]!) as { type: string; id: string; data: Record<string, any> };
    expect(ev.type).toBe('stats');
    expect(ev.id).toBe(id);
    expect(ev.data.memory.usage.limit).toBe(64 * MiB);
    expect(ev.data.memory.usage.usage).toBeGreaterThan(0);
    expect(ev.data.pids).toEqual({ current: 1, limit: 50 });
    expect(typeof ev.data.cpu.usage.total).toBe('number');
    expect(ev.data.cpu.throttling).toMatchObject({ periods: expect.any(Number) });
    await tsrun(['delete', '--force', id]);
  });

  it('events streams stats every --interval and reports an OOM kill ({"type":"oom"}), ending when the container stops', async () => {
    // The shell holds 64 MiB in a variable under a 16 MiB limit (no swap: memsw too): the kernel's
    // OOM killer takes it, which the v1 notification (eventfd on memory.oom_control) reports.
    const b = await makeBundle({ args: ['/bin/sh', '-c', 'sleep 2; x=$(head -c 67108864 /dev/zero | tr "\\0" a); echo survived'] });
    const swap = existsSync(join(memMount!, 'memory.memsw.limit_in_bytes')) ? { swap: 16 * MiB } : {};
    withResources(b, { memory: { limit: 16 * MiB, ...swap } });
    const id = await create(b, false);
    const events = tsrun(['events', '--interval', '500ms', id], { timeoutMs: 20000 });
    await new Promise((r) => setTimeout(r, 300));
    expect((await tsrun(['start', id])).code).toBe(0);
    const r = await events;
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(0);
    const evs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; id: string; data?: unknown });
    expect(evs.filter((e) => e.type === 'stats').length).toBeGreaterThanOrEqual(2);
    expect(evs).toContainEqual({ type: 'oom', id });
    await tsrun(['delete', '--force', id]);
  });

  it('run leaves no cgroup behind; delete --force of a paused container removes it from every hierarchy', async () => {
    const b1 = await makeBundle({ args: ['/bin/true'] });
    const r = await tsrun(['run', '--bundle', b1.dir, newId('cgw')], { cwd: b1.dir });
    expect(r.code).toBe(0);
    for (const d of allDirs(b1)) expect(existsSync(d), d).toBe(false);

    const b2 = await makeBundle({ args: ['/bin/sh', '-c', 'sleep 1000 & sleep 1000 & wait'] });
    const id = await create(b2);
    expect(existsSync(dirOf(b2, 'memory'))).toBe(true);
    expect((await tsrun(['pause', id])).code).toBe(0);
    expect((await containerState(id)).status).toBe('paused');
    const d = await tsrun(['delete', id]);
    expect(d.stderr).toContain(`cannot delete container ${id} that is not stopped: paused`);
    expect((await tsrun(['delete', '--force', id])).code).toBe(0);
    for (const dir of allDirs(b2)) expect(existsSync(dir), dir).toBe(false);
  });

  it('pause/resume refuse the wrong state with runc wording', async () => {
    const b = await makeBundle({ args: ['/bin/sleep', '1000'] });
    const id = await create(b);
    const r = await tsrun(['resume', id]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('container not paused');
    expect((await tsrun(['pause', id])).code).toBe(0);
    const p = await tsrun(['pause', id]);
    expect(p.stderr).toContain('container not running');
    const s = await tsrun(['start', id]);
    expect(s.stderr).toContain('cannot start a container in the paused state');
    expect((await tsrun(['resume', id])).code).toBe(0);
    expect((await containerState(id)).status).toBe('running');
    await tsrun(['delete', '--force', id]);
  });

  it('tsrun run of busybox true succeeds under a 1 MiB memory limit (memory charged before execve reported)', async () => {
    const b = await makeBundle({ args: ['/bin/true'] });
    const swap = existsSync(join(memMount!, 'memory.memsw.limit_in_bytes')) ? { swap: MiB } : {};
    withResources(b, { memory: { limit: MiB, ...swap } });
    // Created: the init waits on the exec fifo, right before execve of the user process.
    const id = await create(b, false);
    const before = Number(readCg(b, 'memory', 'memory.max_usage_in_bytes'));
    console.log(`memory charged to the container before execve: max_usage ${before} bytes (${(before / 1024).toFixed(0)} KiB), limit ${MiB}`);
    expect(before).toBeLessThanOrEqual(MiB);
    await tsrun(['delete', '--force', id]);
    const r = await tsrun(['run', '--bundle', b.dir, newId('cgw')], { cwd: b.dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
