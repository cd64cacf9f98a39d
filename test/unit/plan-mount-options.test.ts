import { describe, expect, it } from 'vitest';
import { buildMounts, knownMountOptions, parseMountOptions, type MountContext } from '../../src/spec/mount-options.js';
import { LINUX as L } from '../../src/spec/linux-constants.js';
import type { Mount } from '../../src/spec/types.js';

/** option -> [flags set after applying it alone, or after "<opposite>,<option>" for clearing ones] */
const SETTING: Record<string, number> = {
  bind: L.MS_BIND,
  dirsync: L.MS_DIRSYNC,
  iversion: L.MS_I_VERSION,
  lazytime: L.MS_LAZYTIME,
  mand: L.MS_MANDLOCK,
  noatime: L.MS_NOATIME,
  nodev: L.MS_NODEV,
  nodiratime: L.MS_NODIRATIME,
  noexec: L.MS_NOEXEC,
  nosuid: L.MS_NOSUID,
  nosymfollow: L.MS_NOSYMFOLLOW,
  rbind: L.MS_BIND | L.MS_REC,
  relatime: L.MS_RELATIME,
  remount: L.MS_REMOUNT,
  ro: L.MS_RDONLY,
  silent: L.MS_SILENT,
  strictatime: L.MS_STRICTATIME,
  sync: L.MS_SYNCHRONOUS,
};
/** clearing option -> the option it undoes */
const CLEARING: Record<string, string> = {
  async: 'sync',
  atime: 'noatime',
  dev: 'nodev',
  diratime: 'nodiratime',
  exec: 'noexec',
  loud: 'silent',
  noiversion: 'iversion',
  nolazytime: 'lazytime',
  nomand: 'mand',
  norelatime: 'relatime',
  nostrictatime: 'strictatime',
  rw: 'ro',
  suid: 'nosuid',
  symfollow: 'nosymfollow',
};
const PROPAGATION: Record<string, number> = {
  private: L.MS_PRIVATE,
  rprivate: L.MS_PRIVATE | L.MS_REC,
  shared: L.MS_SHARED,
  rshared: L.MS_SHARED | L.MS_REC,
  slave: L.MS_SLAVE,
  rslave: L.MS_SLAVE | L.MS_REC,
  unbindable: L.MS_UNBINDABLE,
  runbindable: L.MS_UNBINDABLE | L.MS_REC,
};
/** r* option -> [attrSet, attrClr] */
const ATTRS: Record<string, [number, number]> = {
  rro: [L.MOUNT_ATTR_RDONLY, 0],
  rrw: [0, L.MOUNT_ATTR_RDONLY],
  rnosuid: [L.MOUNT_ATTR_NOSUID, 0],
  rsuid: [0, L.MOUNT_ATTR_NOSUID],
  rnodev: [L.MOUNT_ATTR_NODEV, 0],
  rdev: [0, L.MOUNT_ATTR_NODEV],
  rnoexec: [L.MOUNT_ATTR_NOEXEC, 0],
  rexec: [0, L.MOUNT_ATTR_NOEXEC],
  rnodiratime: [L.MOUNT_ATTR_NODIRATIME, 0],
  rdiratime: [0, L.MOUNT_ATTR_NODIRATIME],
  // Access-time modes need MOUNT_ATTR__ATIME in attr_clr (mount_setattr(2)).
  rrelatime: [L.MOUNT_ATTR_RELATIME, L.MOUNT_ATTR__ATIME],
  rnorelatime: [0, L.MOUNT_ATTR_RELATIME],
  rnoatime: [L.MOUNT_ATTR_NOATIME, L.MOUNT_ATTR__ATIME],
  ratime: [0, L.MOUNT_ATTR_NOATIME],
  rstrictatime: [L.MOUNT_ATTR_STRICTATIME, L.MOUNT_ATTR__ATIME],
  rnostrictatime: [0, L.MOUNT_ATTR_STRICTATIME],
  rnosymfollow: [L.MOUNT_ATTR_NOSYMFOLLOW, 0],
  rsymfollow: [0, L.MOUNT_ATTR_NOSYMFOLLOW],
};

describe('mount option table', () => {
  it.each(Object.entries(SETTING))('%s sets its MS_* flag and adds no data', (opt, flag) => {
    const p = parseMountOptions([opt]);
    expect(p.flags).toBe(flag);
    expect(p.data).toBe('');
  });

  it.each(Object.entries(CLEARING))('%s clears what %s set', (opt, opposite) => {
    expect(parseMountOptions([opposite]).flags).not.toBe(0);
    expect(parseMountOptions([opposite, opt]).flags).toBe(0);
    // and the later option wins the other way round
    expect(parseMountOptions([opt, opposite]).flags).toBe(SETTING[opposite]);
  });

  it.each(Object.entries(PROPAGATION))('%s is a propagation change', (opt, flag) => {
    const p = parseMountOptions([opt]);
    expect(p).toMatchObject({ flags: 0, data: '', propagation: [flag] });
  });

  it.each(Object.entries(ATTRS))('%s gives mount_setattr masks', (opt, [set, clr]) => {
    const p = parseMountOptions([opt]);
    expect([p.attrSet, p.attrClr, p.flags, p.data]).toEqual([set, clr, 0, '']);
  });

  it('defaults is a no-op, not filesystem data', () => {
    expect(parseMountOptions(['defaults'])).toMatchObject({ flags: 0, data: '' });
  });

  it('unknown options become filesystem data, in order', () => {
    const p = parseMountOptions(['nosuid', 'mode=755', 'size=65536k', 'acl']);
    expect(p).toMatchObject({ flags: L.MS_NOSUID, data: 'mode=755,size=65536k,acl' });
  });

  it('later r* options override earlier ones', () => {
    const p = parseMountOptions(['rro', 'rrw']);
    expect([p.attrSet, p.attrClr]).toEqual([0, L.MOUNT_ATTR_RDONLY]);
  });

  it('several propagation options are kept in order', () => {
    expect(parseMountOptions(['rshared', 'private']).propagation).toEqual([L.MS_SHARED | L.MS_REC, L.MS_PRIVATE]);
  });

  it('knownMountOptions lists every table entry, tmpcopyup included', () => {
    const known = knownMountOptions();
    const expected = [...Object.keys(SETTING), ...Object.keys(CLEARING), ...Object.keys(PROPAGATION), ...Object.keys(ATTRS), 'defaults', 'idmap', 'ridmap', 'tmpcopyup'].sort();
    expect(known).toEqual(expected);
  });

  it('tmpcopyup is not filesystem data', () => {
    expect(parseMountOptions(['rw', 'tmpcopyup', 'mode=755'])).toMatchObject({ copyUp: true, data: 'mode=755', unsupported: [] });
  });
});

const v2: MountContext = { bundle: '/b', cgroupMode: 'v2', cgroupV1Hierarchies: [], cgroupNamespace: false };

function convert(mounts: Mount[], ctx: MountContext = v2): ReturnType<typeof buildMounts> {
  const problems: string[] = [];
  const out = buildMounts(mounts, ctx, problems);
  if (problems.length) throw new Error(problems.join('\n'));
  return out;
}

function problemsOf(mounts: Mount[], ctx: MountContext = v2): string[] {
  const problems: string[] = [];
  buildMounts(mounts, ctx, problems);
  return problems;
}

describe('bind mounts', () => {
  it('a read-only rbind gets MS_BIND first, the flags again in the remount, and read-only all the way down', () => {
    const [m] = convert([{ destination: '/data', type: 'bind', source: 'vol', options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] }]);
    expect(m).toEqual({
      destination: '/data',
      source: '/b/vol',
      type: '',
      flags: L.MS_BIND | L.MS_REC | L.MS_RDONLY | L.MS_NOSUID | L.MS_NODEV | L.MS_NOEXEC,
      data: '',
      remountFlags: L.MS_RDONLY | L.MS_NOSUID | L.MS_NODEV | L.MS_NOEXEC,
      propagation: [],
      // Submounts of a read-only rbind must not stay writable (SECURITY.md #11).
      attrSet: L.MOUNT_ATTR_RDONLY,
      attrClr: 0,
      createAs: 'auto',
    });
  });

  it('a read-only non-recursive bind stays read-only at the top only, as the spec says', () => {
    const [m] = convert([{ destination: '/data', type: 'bind', source: 'vol', options: ['bind', 'ro'] }]);
    expect(m).toMatchObject({ remountFlags: L.MS_RDONLY, attrSet: 0 });
  });

  it('a plain rbind needs no remount', () => {
    const [m] = convert([{ destination: '/etc/hosts', type: 'bind', source: '/h/hosts', options: ['rbind', 'rprivate'] }]);
    expect(m).toMatchObject({ flags: L.MS_BIND | L.MS_REC, remountFlags: 0, propagation: [L.MS_PRIVATE | L.MS_REC] });
  });

  it('the bind option makes any type a bind mount; the remount keeps only per-mount flags', () => {
    const [m] = convert([{ destination: 'x/../y/', type: 'none', source: '/src', options: ['bind', 'sync', 'noatime', 'nosymfollow'] }]);
    expect(m).toMatchObject({ destination: '/y', type: '', flags: L.MS_BIND | L.MS_SYNCHRONOUS | L.MS_NOATIME | L.MS_NOSYMFOLLOW });
    expect(m.remountFlags).toBe(L.MS_NOATIME | L.MS_NOSYMFOLLOW);
  });

  it('type bind without a bind option is still a bind (MS_BIND added)', () => {
    const [m] = convert([{ destination: '/a', type: 'bind', source: '/s', options: ['ro'] }]);
    expect(m.flags).toBe(L.MS_BIND | L.MS_RDONLY);
    expect(m.remountFlags).toBe(L.MS_RDONLY);
  });

  it('r* options land in attrSet/attrClr of a bind', () => {
    const [m] = convert([{ destination: '/a', type: 'bind', source: '/s', options: ['rbind', 'rro', 'rnosuid'] }]);
    expect([m.attrSet, m.attrClr]).toEqual([L.MOUNT_ATTR_RDONLY | L.MOUNT_ATTR_NOSUID, 0]);
  });
});

describe('other mounts', () => {
  it('keeps type, source, flags and data; relative destinations are taken from /', () => {
    const [m] = convert([{ destination: 'dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] }]);
    expect(m).toEqual({
      destination: '/dev/shm',
      source: 'shm',
      type: 'tmpfs',
      flags: L.MS_NOSUID | L.MS_NOEXEC | L.MS_NODEV,
      data: 'mode=1777,size=65536k',
      remountFlags: 0,
      propagation: [],
      attrSet: 0,
      attrClr: 0,
      createAs: 'dir',
    });
  });

  it('refuses idmapped mounts that are not binds, naming the field', () => {
    const problems = problemsOf([
      { destination: '/c', type: 'tmpfs', source: 'tmpfs', options: ['idmap'] },
      { destination: '/d', type: 'tmpfs', source: 'tmpfs', uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] },
    ]);
    expect(problems).toEqual([
      expect.stringMatching(/^\/mounts\/0: idmapped mounts .* bind mounts only/),
      expect.stringMatching(/^\/mounts\/1: idmapped mounts .* bind mounts only/),
    ]);
  });

  it('tmpcopyup marks a tmpfs for copy-up (podman --tmpfs, --read-only); other types ignore it as runc does', () => {
    const out = convert([
      { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['rw', 'rprivate', 'nosuid', 'nodev', 'tmpcopyup'] },
      { destination: '/m', type: 'mqueue', source: 'mqueue', options: ['tmpcopyup'] },
      { destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['mode=755'] },
    ]);
    expect(out[0]).toMatchObject({ type: 'tmpfs', copyUp: true, flags: L.MS_NOSUID | L.MS_NODEV, data: '' });
    expect(out[1]!.copyUp).toBeUndefined();
    expect(out[2]!.copyUp).toBeUndefined();
  });

  it('idmap, ridmap and mount mappings on binds become an idmap request for the parent', () => {
    const map = [{ containerID: 0, hostID: 1000, size: 10 }];
    const out = convert([
      { destination: '/a', type: 'bind', source: '/s', options: ['rbind', 'idmap'] },
      { destination: '/c', type: 'bind', source: '/s', options: ['ridmap'] },
      { destination: '/d', type: 'bind', source: '/s', uidMappings: map, gidMappings: map },
      { destination: '/e', type: 'bind', source: '/s' },
    ]);
    expect(out.map((m) => m.idmap)).toEqual([
      { uidMappings: [], gidMappings: [], recursive: false },
      { uidMappings: [], gidMappings: [], recursive: true },
      { uidMappings: map, gidMappings: map, recursive: false },
      undefined,
    ]);
    expect(out[0]!.data).toBe('');
  });

  it('refuses a mount over /, a bind without source, a NUL byte and a missing type', () => {
    const problems = problemsOf([
      { destination: '/x/..', type: 'tmpfs', source: 'tmpfs' },
      { destination: '/a', type: 'bind' },
      { destination: '/b\0c', type: 'tmpfs', source: 'tmpfs' },
      { destination: '/d', source: 'tmpfs' },
    ]);
    expect(problems).toEqual([
      expect.stringMatching(/^\/mounts\/0\/destination: .*not allowed/),
      expect.stringMatching(/^\/mounts\/1\/source: a bind mount needs a source/),
      expect.stringMatching(/^\/mounts\/2\/destination: must not contain a NUL byte/),
      expect.stringMatching(/^\/mounts\/3\/type: required/),
    ]);
  });
});

describe('cgroup mounts', () => {
  const cgroupMount: Mount = { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] };
  const hierarchies = [
    { name: 'memory', options: 'memory' },
    { name: 'cpu,cpuacct', options: 'cpu,cpuacct' },
    { name: 'systemd', options: 'name=systemd', source: '/sys/fs/cgroup/systemd/my/cg' },
  ];
  const ro = L.MS_NOSUID | L.MS_NOEXEC | L.MS_NODEV | L.MS_RELATIME | L.MS_RDONLY;

  it('v2 host: one cgroup2 mount with the given flags', () => {
    expect(convert([cgroupMount])).toEqual([
      { destination: '/sys/fs/cgroup', source: 'cgroup', type: 'cgroup2', flags: ro, data: '', remountFlags: 0, propagation: [], attrSet: 0, attrClr: 0, createAs: 'dir' },
    ]);
  });

  it('v1 host with a cgroup namespace: tmpfs, then a read-only cgroup mount per hierarchy', () => {
    const out = convert([cgroupMount], { bundle: '/b', cgroupMode: 'hybrid', cgroupV1Hierarchies: hierarchies, cgroupNamespace: true });
    const def = L.MS_NOEXEC | L.MS_NOSUID | L.MS_NODEV;
    expect(out.map((m) => [m.destination, m.type, m.source, m.flags, m.data])).toEqual([
      ['/sys/fs/cgroup', 'tmpfs', 'tmpfs', def, 'mode=755'],
      ['/sys/fs/cgroup/memory', 'cgroup', 'cgroup', def | L.MS_RDONLY, 'memory'],
      ['/sys/fs/cgroup/cpu,cpuacct', 'cgroup', 'cgroup', def | L.MS_RDONLY, 'cpu,cpuacct'],
      ['/sys/fs/cgroup/systemd', 'cgroup', 'cgroup', def | L.MS_RDONLY, 'name=systemd'],
      // Last, the tmpfs itself goes read-only (it had to be writable for the directories above).
      ['/sys/fs/cgroup', '', '', def | L.MS_RDONLY | L.MS_REMOUNT, 'mode=755'],
    ]);
  });

  it('v1 host without a cgroup namespace: read-only binds of the host hierarchies', () => {
    const out = convert([cgroupMount], { bundle: '/b', cgroupMode: 'v1', cgroupV1Hierarchies: hierarchies, cgroupNamespace: false });
    expect(out.map((m) => [m.destination, m.type, m.source, m.flags, m.remountFlags])).toEqual([
      ['/sys/fs/cgroup', 'tmpfs', 'tmpfs', L.MS_NOEXEC | L.MS_NOSUID | L.MS_NODEV, 0],
      ['/sys/fs/cgroup/memory', '', '/sys/fs/cgroup/memory', ro | L.MS_BIND | L.MS_REC, ro],
      ['/sys/fs/cgroup/cpu,cpuacct', '', '/sys/fs/cgroup/cpu,cpuacct', ro | L.MS_BIND | L.MS_REC, ro],
      ['/sys/fs/cgroup/systemd', '', '/sys/fs/cgroup/systemd/my/cg', ro | L.MS_BIND | L.MS_REC, ro],
      ['/sys/fs/cgroup', '', '', L.MS_NOEXEC | L.MS_NOSUID | L.MS_NODEV | L.MS_RDONLY | L.MS_REMOUNT, 0],
    ]);
    expect(out.slice(1, 4).every((m) => m.createAs === 'dir')).toBe(true);
    expect(out.slice(1, 4).every((m) => m.attrSet === L.MOUNT_ATTR_RDONLY)).toBe(true);
  });

  it('a writable v1 cgroup mount gives writable hierarchies', () => {
    const out = convert([{ ...cgroupMount, options: ['nosuid'] }], { bundle: '/b', cgroupMode: 'v1', cgroupV1Hierarchies: hierarchies, cgroupNamespace: true });
    expect(out).toHaveLength(4);
    expect(out.some((m) => (m.flags & (L.MS_RDONLY | L.MS_REMOUNT)) !== 0)).toBe(false);
  });

  it('the unified hierarchy of a hybrid host is mounted as cgroup2 in a cgroup namespace', () => {
    const out = convert([cgroupMount], { bundle: '/b', cgroupMode: 'hybrid', cgroupV1Hierarchies: [{ name: 'unified', options: '' }], cgroupNamespace: true });
    expect(out[1]).toMatchObject({ destination: '/sys/fs/cgroup/unified', type: 'cgroup2', data: '' });
  });
});
