import { describe, expect, it } from 'vitest';
import { buildPlan, type PlanContext } from '../../src/spec/plan.js';
import { LINUX as L } from '../../src/spec/linux-constants.js';
import type { Spec } from '../../src/spec/types.js';
import { mapLines, ownIdOnly, userNsSpawnOptions } from '../../src/process/idmap.js';

const ctx: PlanContext = { bundle: '/b', noPivot: false, lastCap: 40, nofile: null, cgroupMode: 'v2' };
const MAP = [{ containerID: 0, hostID: 100000, size: 65536 }];
const SYSFS = { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] };

function spec(types: string[], extra: Partial<Spec> = {}): Spec {
  return {
    ociVersion: '1.3.0', root: { path: 'rootfs' }, process: { args: ['sh'], cwd: '/' }, mounts: [SYSFS],
    linux: { namespaces: types.map((type) => ({ type })) as never, uidMappings: MAP, gidMappings: MAP }, ...extra,
  };
}

describe('user namespace: sysfs', () => {
  it('new user ns without a network ns: /sys is an rbind of the host /sys, read-only on every submount', () => {
    const m = buildPlan(spec(['user', 'mount']), ctx).init.mounts[0]!;
    expect(m).toMatchObject({ destination: '/sys', source: '/sys', type: '', data: '', createAs: 'dir' });
    expect(m.flags & (L.MS_BIND | L.MS_REC | L.MS_RDONLY | L.MS_NOSUID | L.MS_NODEV | L.MS_NOEXEC)).toBe(L.MS_BIND | L.MS_REC | L.MS_RDONLY | L.MS_NOSUID | L.MS_NODEV | L.MS_NOEXEC);
    expect(m.remountFlags & L.MS_RDONLY).toBe(L.MS_RDONLY);
    expect(m.attrSet).toBe(L.MOUNT_ATTR_RDONLY | L.MOUNT_ATTR_NOSUID | L.MOUNT_ATTR_NODEV | L.MOUNT_ATTR_NOEXEC);
  });

  it('a read-write sysfs stays writable as a bind (no ro added)', () => {
    const s = spec(['user', 'mount']);
    s.mounts = [{ ...SYSFS, options: ['nosuid'] }];
    const m = buildPlan(s, ctx).init.mounts[0]!;
    expect(m.flags & L.MS_RDONLY).toBe(0);
    expect(m.attrSet & L.MOUNT_ATTR_RDONLY).toBe(0);
  });

  it('with a network namespace of its own (or no user namespace) sysfs is mounted as configured', () => {
    expect(buildPlan(spec(['user', 'mount', 'network']), ctx).init.mounts[0]).toMatchObject({ type: 'sysfs', source: 'sysfs' });
    const noUser = spec(['mount']);
    delete noUser.linux!.uidMappings;
    delete noUser.linux!.gidMappings;
    expect(buildPlan(noUser, ctx).init.mounts[0]).toMatchObject({ type: 'sysfs' });
  });

  it('a user namespace joined by path without a network namespace also binds /sys', () => {
    const s = spec([]);
    s.linux = { namespaces: [{ type: 'user', path: '/proc/1/ns/user' }, { type: 'mount' }] };
    expect(buildPlan(s, ctx).init.mounts[0]).toMatchObject({ type: '', source: '/sys' });
  });
});

describe('user namespace: spawn options and maps', () => {
  it('a new user ns writes maps before exec and becomes root; a joined one only becomes root', () => {
    const fresh = userNsSpawnOptions(buildPlan(spec(['user', 'mount']), ctx).spawn);
    expect(fresh.becomeRoot).toBe(true);
    expect(typeof fresh.beforeExec).toBe('function');
    const s = spec([]);
    s.linux = { namespaces: [{ type: 'user', path: '/proc/1/ns/user' }, { type: 'mount' }] };
    const joined = userNsSpawnOptions(buildPlan(s, ctx).spawn);
    expect(joined).toEqual({ becomeRoot: true });
    const none = spec(['mount']);
    expect(userNsSpawnOptions(buildPlan(none, ctx).spawn)).toEqual({ becomeRoot: false });
  });

  it('map lines and the own-id check for unprivileged callers', () => {
    expect(mapLines([...MAP, { containerID: 65536, hostID: 1000, size: 1 }])).toBe('0 100000 65536\n65536 1000 1\n');
    expect(ownIdOnly([{ containerID: 0, hostID: 1000, size: 1 }], 1000)).toBe(true);
    expect(ownIdOnly([{ containerID: 0, hostID: 1000, size: 2 }], 1000)).toBe(false);
    expect(ownIdOnly(MAP, 1000)).toBe(false);
  });
});

describe('user namespace: idmapped mounts in the plan', () => {
  it('a bare idmap borrows the container mappings; without a user namespace it is refused', () => {
    const s = spec(['user', 'mount', 'network']);
    s.mounts = [{ destination: '/d', type: 'bind', source: '/src', options: ['bind', 'idmap'] }];
    expect(buildPlan(s, ctx).init.mounts[0]!.idmap).toEqual({ uidMappings: MAP, gidMappings: MAP, recursive: false });
    const noUser: Spec = { ...s, linux: { namespaces: [{ type: 'mount' }] } };
    expect(() => buildPlan(noUser, ctx)).toThrow(/destination \/d.*idmap without uidMappings/);
  });

  it('prepareIdmapMounts builds one tree per idmapped mount and numbers them for the child', async () => {
    const { FakeNative } = await import('../../src/native/fake.js');
    const { prepareIdmapMounts } = await import('../../src/process/idmap-mounts.js');
    const s = spec(['user', 'mount', 'network']);
    s.mounts = [
      { destination: '/a', type: 'bind', source: '/src', options: ['rbind', 'ridmap'] },
      { destination: '/b', type: 'bind', source: '/other' },
      { destination: '/c', type: 'bind', source: '/x', options: ['bind'], uidMappings: [{ containerID: 0, hostID: 5, size: 1 }], gidMappings: [{ containerID: 0, hostID: 6, size: 1 }] },
    ];
    const init = buildPlan(s, ctx).init;
    const nat = new FakeNative();
    const r = prepareIdmapMounts(nat, init, 7);
    expect(r.fds).toHaveLength(2);
    expect(init.mounts.map((m) => m.idmapFd)).toEqual([7, undefined, 8]);
    expect(nat.callsOf('idmappedTree')).toEqual([
      ['/src', '0 100000 65536\n', '0 100000 65536\n', true, true],
      ['/x', '0 5 1\n', '0 6 1\n', false, false],
    ]);
  });
});

describe('rootless defaults', async () => {
  const { defaultRoot, isRootless, cgroupOrSkip } = await import('../../src/rootless.js');
  const eacces = Object.assign(new Error("EACCES: permission denied, mkdir '/sys/fs/cgroup/x'"), { code: 'EACCES' });

  it('state root: /run/tsrun for root, $XDG_RUNTIME_DIR/tsrun for an unprivileged caller', () => {
    expect(defaultRoot({ XDG_RUNTIME_DIR: '/run/user/1000' }, 0)).toBe('/run/tsrun');
    expect(defaultRoot({ XDG_RUNTIME_DIR: '/run/user/1000/' }, 1000)).toBe('/run/user/1000/tsrun');
    expect(defaultRoot({}, 1000)).toBe('/run/tsrun');
    expect(defaultRoot({ XDG_RUNTIME_DIR: 'relative' }, 1000)).toBe('/run/tsrun');
  });

  it('--rootless auto follows the caller; true/false force it', () => {
    expect(isRootless(undefined, 1000)).toBe(true);
    expect(isRootless('auto', 0)).toBe(false);
    expect(isRootless('true', 0)).toBe(true);
    expect(isRootless('false', 1000)).toBe(false);
  });

  it('a cgroup permission error is skipped with a warning for rootless callers only, never with resources', () => {
    const warnings: string[] = [];
    const fail = (): never => {
      throw eacces;
    };
    expect(cgroupOrSkip(fail, {}, (m) => warnings.push(m), true)).toBeUndefined();
    expect(warnings[0]).toMatch(/rootless: cgroup not created \(EACCES.*caller's cgroup/);
    expect(() => cgroupOrSkip(fail, { pids: { limit: 10 } }, () => undefined, true)).toThrow(/rootless: linux.resources needs a cgroup/);
    expect(() => cgroupOrSkip(fail, {}, () => undefined, false)).toThrow(/EACCES/);
    expect(cgroupOrSkip(() => 7, {}, () => undefined, true)).toBe(7);
  });

  it('the permission error is found through the context it was wrapped in (creating cgroup X: EACCES)', async () => {
    const { TsrunError } = await import('../../src/errors.js');
    const wrapped = (): never => {
      throw new TsrunError('creating cgroup /sys/fs/cgroup/cpu/x', { cause: eacces });
    };
    const warnings: string[] = [];
    expect(cgroupOrSkip(wrapped, {}, (m) => warnings.push(m), true)).toBeUndefined();
    expect(warnings[0]).toMatch(/rootless: cgroup not created \(creating cgroup \/sys\/fs\/cgroup\/cpu\/x: EACCES/);
    const other = (): never => {
      throw new TsrunError('creating cgroup /x', { cause: Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' }) });
    };
    expect(() => cgroupOrSkip(other, {}, () => undefined, true)).toThrow(/ENOSPC/);
  });
});
