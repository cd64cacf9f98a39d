import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManager, loadManager } from '../../src/cgroups/manager.js';

/** A fake cgroupfs on a tmpdir: control files exist only where a test creates them, as the
 *  manager never creates files (it opens "r+"). */
let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tsrun-cg-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function touch(path: string, content = ''): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
}
const read = (p: string): string => readFileSync(p, 'utf8');

describe('v2 manager on a fake hierarchy', () => {
  it('creates the directory under the root for an absolute path and delegates controllers', () => {
    touch(join(root, 'cgroup.controllers'), 'cpu memory pids\n');
    touch(join(root, 'cgroup.subtree_control'), 'memory\n');
    const m = createManager({ cgroupsPath: '/a/b', id: 'x', root, mode: 'v2' });
    m.create();
    expect(existsSync(join(root, 'a/b'))).toBe(true);
    // Only missing controllers are written (a file on tmpfs keeps the last write).
    expect(read(join(root, 'cgroup.subtree_control'))).toBe('+pids');
    // `a` was made by create (mkdir -p), so destroy may remove it again.
    expect(m.toState()).toEqual({ mode: 'v2', paths: { '': join(root, 'a/b') }, created: [join(root, 'a')] });
  });

  it('applies resources into existing files, falls back, and names file and field when one is missing', () => {
    const dir = join(root, 'c');
    mkdirSync(dir);
    for (const f of ['memory.max', 'memory.swap.max', 'pids.max', 'io.weight', 'memory.high']) touch(join(dir, f));
    const m = loadManager({ mode: 'v2', paths: { '': dir } });
    const ignored = m.apply({ memory: { limit: 1 << 20, swap: 2 << 20, swappiness: 1 }, pids: { limit: 10 }, blockIO: { weight: 1000 }, unified: { 'memory.high': '999' } });
    expect(read(join(dir, 'memory.max'))).toBe(String(1 << 20));
    expect(read(join(dir, 'memory.swap.max'))).toBe(String(1 << 20));
    expect(read(join(dir, 'pids.max'))).toBe('10');
    expect(read(join(dir, 'io.weight'))).toBe('10000');
    expect(read(join(dir, 'memory.high'))).toBe('999');
    expect(ignored).toEqual(['linux.resources.memory.swappiness']);
    expect(() => m.apply({ unified: { 'memory.nope': '1' } })).toThrow(/linux\.resources\.unified\.memory\.nope: cannot set .*memory\.nope: the file does not exist/);
    expect(existsSync(join(dir, 'memory.nope'))).toBe(false);
  });

  it('devices without a loader are reported, not silently dropped', () => {
    const dir = join(root, 'd');
    mkdirSync(dir);
    const m = loadManager({ mode: 'v2', paths: { '': dir } });
    expect(m.apply({ devices: [{ allow: false, access: 'rwm' }] })).toEqual(['linux.resources.devices (no eBPF device program loader yet)']);
  });

  it('devices with a loader get the encoded program and an O_DIRECTORY fd of the cgroup', () => {
    const dir = join(root, 'e');
    mkdirSync(dir);
    const calls: Array<{ len: number; fd: number }> = [];
    const m = loadManager({ mode: 'v2', paths: { '': dir } }, (insns, fd) => calls.push({ len: insns.length, fd }));
    m.apply({ devices: [{ allow: false, access: 'rwm' }] });
    expect(calls.length).toBe(1);
    expect(calls[0]!.len % 8).toBe(0);
    expect(calls[0]!.fd).toBeGreaterThan(2);
  });

  it('a level that cannot be made takes the parents made before it away again, not those that were there', () => {
    mkdirSync(join(root, 'kept'));
    // A component over NAME_MAX fails its mkdir after kept/a and kept/a/b were made.
    const m = createManager({ cgroupsPath: `/kept/a/b/${'x'.repeat(300)}`, id: 'x', root, mode: 'v2' });
    expect(() => m.create()).toThrow(/creating cgroup .*kept\/a\/b\/x+: ENAMETOOLONG/);
    expect(existsSync(join(root, 'kept/a'))).toBe(false);
    expect(existsSync(join(root, 'kept'))).toBe(true);
  });

  it('destroy removes the directory and its children, never the parent', () => {
    mkdirSync(join(root, 'p/c/sub'), { recursive: true });
    const m = loadManager({ mode: 'v2', paths: { '': join(root, 'p/c') } });
    m.destroy();
    expect(existsSync(join(root, 'p/c'))).toBe(false);
    expect(existsSync(join(root, 'p'))).toBe(true);
    m.destroy(); // idempotent
  });
});

describe('v1 manager on a fake hierarchy', () => {
  it('one directory per controller, cpuset inherited from the parent, writes routed by controller', () => {
    for (const c of ['memory', 'cpu', 'cpuset', 'pids', 'devices']) mkdirSync(join(root, c));
    touch(join(root, 'cpuset/cpuset.cpus'), '0-1');
    touch(join(root, 'cpuset/cpuset.mems'), '0');
    const m = createManager({ cgroupsPath: '/t/c1', id: 'c1', root, mode: 'v1' });
    // A fake kernel would create the control files with the directory: do it after create().
    touch(join(root, 'cpuset/t/cpuset.cpus'));
    touch(join(root, 'cpuset/t/cpuset.mems'));
    touch(join(root, 'cpuset/t/c1/cpuset.cpus'));
    touch(join(root, 'cpuset/t/c1/cpuset.mems'));
    m.create();
    expect(read(join(root, 'cpuset/t/c1/cpuset.cpus'))).toBe('0-1');
    expect(read(join(root, 'cpuset/t/cpuset.mems'))).toBe('0');
    touch(join(root, 'memory/t/c1/memory.limit_in_bytes'), '9223372036854771712');
    touch(join(root, 'pids/t/c1/pids.max'));
    m.apply({ memory: { limit: 4096 }, pids: { limit: 5 } });
    expect(read(join(root, 'memory/t/c1/memory.limit_in_bytes'))).toBe('4096');
    expect(read(join(root, 'pids/t/c1/pids.max'))).toBe('5');
    expect(() => m.apply({ network: { classID: 1 } })).toThrow(/linux\.resources\.network\.classID: the net_cls cgroup controller is not mounted/);
    expect(Object.keys(m.toState().paths).sort()).toEqual(['cpu', 'cpuset', 'devices', 'memory', 'pids']);
    // Real cgroupfs directories vanish with their control files; the fake's must go first.
    for (const f of ['cpuset/t/c1/cpuset.cpus', 'cpuset/t/c1/cpuset.mems', 'memory/t/c1/memory.limit_in_bytes', 'pids/t/c1/pids.max']) rmSync(join(root, f));
    m.destroy();
    for (const c of ['memory', 'cpu', 'cpuset', 'pids', 'devices']) expect(existsSync(join(root, c, 't/c1'))).toBe(false);
    // Parents create() made go with the container; one that was there before (cpuset/t) stays.
    expect(existsSync(join(root, 'memory/t'))).toBe(false);
    expect(existsSync(join(root, 'cpuset/t'))).toBe(true);
  });

  it('hybrid: hugetlb limits go to the unified directory (v2 names) when v1 has no hugetlb hierarchy', () => {
    mkdirSync(join(root, 'memory'));
    touch(join(root, 'unified/cgroup.subtree_control'), '');
    touch(join(root, 'unified/cgroup.controllers'), 'hugetlb');
    const m = createManager({ cgroupsPath: '/h', id: 'h', root, mode: 'v1' });
    m.create();
    expect(m.toState().paths['']).toBe(join(root, 'unified/h'));
    touch(join(root, 'unified/h/hugetlb.2MB.max'));
    m.apply({ hugepageLimits: [{ pageSize: '2MB', limit: 4 << 20 }] });
    expect(read(join(root, 'unified/h/hugetlb.2MB.max'))).toBe(String(4 << 20));
    // The controller was delegated from the unified root to the container's directory.
    expect(read(join(root, 'unified/cgroup.subtree_control'))).toBe('+hugetlb');
  });

  it('one hierarchy refusing the directory removes those already made in the others', () => {
    for (const c of ['cpu', 'memory', 'pids']) mkdirSync(join(root, c));
    // The memory hierarchy cannot take the directory (a file where `t` should be); cpu comes
    // before it and pids after, in the manager's order, whichever that is: none may keep a `t`.
    writeFileSync(join(root, 'memory/t'), '');
    const m = createManager({ cgroupsPath: '/t/c1', id: 'c1', root, mode: 'v1' });
    expect(() => m.create()).toThrow(/creating cgroup .*memory\/t\/c1/);
    expect(existsSync(join(root, 'cpu/t'))).toBe(false);
    expect(existsSync(join(root, 'pids/t'))).toBe(false);
  });

  it('refuses the systemd form before touching anything', () => {
    mkdirSync(join(root, 'memory'));
    expect(() => createManager({ cgroupsPath: 'user.slice:tsrun:c1', id: 'c1', root, mode: 'v1' })).toThrow(/systemd/);
  });
});
