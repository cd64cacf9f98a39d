import { describe, expect, it } from 'vitest';
import { cleanPath, hierarchyDir, innerPath } from '../../src/cgroups/path.js';
import { parseMountinfo, parseProcCgroup } from '../../src/cgroups/detect.js';
import { ConfigError } from '../../src/errors.js';

describe('cgroupsPath', () => {
  it('cleans ".." so a path never climbs above where it starts', () => {
    expect(cleanPath('/a/../../b')).toBe('/b');
    expect(cleanPath('../../x/y/')).toBe('x/y');
    expect(cleanPath('a//b/./c')).toBe('a/b/c');
    expect(cleanPath('')).toBe('');
  });

  it('absolute, relative and absent (= the id, relative, as runc)', () => {
    expect(innerPath('/tsrun/c1', 'id')).toEqual({ absolute: true, path: '/tsrun/c1' });
    expect(innerPath('foo/bar', 'id')).toEqual({ absolute: false, path: 'foo/bar' });
    expect(innerPath(undefined, 'c9')).toEqual({ absolute: false, path: 'c9' });
    expect(innerPath('', 'c9')).toEqual({ absolute: false, path: 'c9' });
  });

  it('refuses the systemd slice:prefix:name form, naming the field and the flag', () => {
    expect(() => innerPath('system.slice:docker:abc', 'id')).toThrow(ConfigError);
    expect(() => innerPath('system.slice:docker:abc', 'id')).toThrow(/\/linux\/cgroupsPath.*--systemd-cgroup/);
  });

  it('refuses a newline, which the kernel refuses in cgroup names, naming the field', () => {
    expect(() => innerPath('/tsrun/a\nb', 'id')).toThrow(/\/linux\/cgroupsPath: "\/tsrun\/a\\nb" contains a newline/);
  });

  it('refuses a path that is the hierarchy root', () => {
    expect(() => innerPath('/..', 'id')).toThrow(/hierarchy root/);
  });

  it('places absolute paths under the mount, relative ones under the own cgroup (v2: its parent)', () => {
    const abs = innerPath('/a/b', 'x');
    const rel = innerPath('ctr', 'x');
    expect(hierarchyDir('/sys/fs/cgroup/memory', '/', '/user/1', abs, false)).toBe('/sys/fs/cgroup/memory/a/b');
    expect(hierarchyDir('/sys/fs/cgroup/memory', '/', '/user/1', rel, false)).toBe('/sys/fs/cgroup/memory/user/1/ctr');
    expect(hierarchyDir('/sys/fs/cgroup', '/', '/user.slice/session.scope', rel, true)).toBe('/sys/fs/cgroup/user.slice/ctr');
    // Inside a cgroup namespace the mount shows /outer as its root.
    expect(hierarchyDir('/sys/fs/cgroup/pids', '/outer', '/outer/me', rel, false)).toBe('/sys/fs/cgroup/pids/me/ctr');
  });
});

describe('host detection parsers', () => {
  const mountinfo = [
    '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
    '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
    '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
    '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd',
    '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate',
    '50 23 0:40 / /mnt/with\\040space rw - ext4 /dev/sda rw',
  ].join('\n');

  it('finds v1 controllers (co-mounted ones share a mount), named hierarchies and the unified mount', () => {
    const m = parseMountinfo(mountinfo);
    expect(m.v1.get('cpu')?.mountpoint).toBe('/sys/fs/cgroup/cpu,cpuacct');
    expect(m.v1.get('cpuacct')?.mountpoint).toBe('/sys/fs/cgroup/cpu,cpuacct');
    expect(m.v1.get('memory')?.mountpoint).toBe('/sys/fs/cgroup/memory');
    expect(m.v1.get('name=systemd')?.mountpoint).toBe('/sys/fs/cgroup/systemd');
    expect(m.v1.has('xattr')).toBe(false);
    expect(m.unified).toEqual({ mountpoint: '/sys/fs/cgroup/unified', root: '/' });
  });

  it('reads /proc/self/cgroup lines, splitting co-mounted controllers', () => {
    const own = parseProcCgroup('4:memory:/process_api/x\n2:cpu,cpuacct:/a\n0::/b\n');
    expect(own.get('memory')).toBe('/process_api/x');
    expect(own.get('cpuacct')).toBe('/a');
    expect(own.get('')).toBe('/b');
  });
});
