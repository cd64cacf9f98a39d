import { describe, expect, it } from 'vitest';
import { cgroupV1Hierarchies, inUserNamespace, isAlive, parseStat, startTimeOf } from '../../src/process/procfs.js';

describe('procfs', () => {
  it('parses /proc/<pid>/stat even when the command name holds spaces and parentheses', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    fields[0] = 'S';
    const st = parseStat(`123 (a) b (c)) ${fields.join(' ')}\n`);
    expect(st).toEqual({ state: 'S', startTime: '22' });
  });

  it('this process is alive with its own start time, not with another', () => {
    const st = startTimeOf(process.pid)!;
    expect(st).toMatch(/^\d+$/);
    expect(isAlive(process.pid, st)).toBe(true);
    expect(isAlive(process.pid, String(Number(st) + 1))).toBe(false);
    expect(isAlive(0, st)).toBe(false);
  });

  it('finds the v1 hierarchies and the hybrid unified mount in mountinfo', () => {
    const mi = [
      '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
      '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,xattr,cpu,cpuacct',
      '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,release_agent=/x,name=systemd',
      '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
      '50 23 0:40 / /sys/fs/cgroup/memory/nested rw - cgroup cgroup rw,memory',
      '60 23 0:41 / /mnt rw - ext4 /dev/sda rw',
    ].join('\n');
    expect(cgroupV1Hierarchies(mi)).toEqual([
      { name: 'cpu,cpuacct', options: 'cpu,cpuacct' },
      { name: 'systemd', options: 'name=systemd' },
      { name: 'unified', options: '' },
    ]);
  });

  it('tells the initial user namespace from a nested one', () => {
    expect(inUserNamespace('         0          0 4294967295\n')).toBe(false);
    expect(inUserNamespace('         0       1000          1\n')).toBe(true);
  });
});
