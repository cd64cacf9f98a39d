// SECURITY.md 6 (/proc and /sys redirection: CVE-2019-16884, CVE-2019-19921, CVE-2023-27561,
// CVE-2023-28642) and 11 (writable cgroupfs without a cgroup namespace, CVE-2023-25809).
// How these fail on a runtime with the hole: one that follows a /proc or /sys symlink, accepts a
// plain directory or a tmpfs where procfs belongs, exits 0 (expectRefused reports "exit 0"), and
// one that follows the symlink on the host leaves files or mounts in the host MARK dir; a
// writable /sys/fs/cgroup lets the probe's mkdir/write there succeed.
// Checked: with TSRUN_BIN=/usr/sbin/runc (runc 1.1.5) the tmpfs-on-/proc/self/attr and
// tmpfs-on-/proc/sys cases and both /sys/fs/cgroup cases fail (it mounts them / leaves them rw).
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  check, installCleanup, makeBundle, mountAt, newId, probe, skipNote, skipReason, tsrun, type Bundle,
} from '../../conformance/lib/index.js';
import { expectRefused, listDir, makeMarkDir } from './helpers/index.js';

installCleanup();

async function refuse(b: Bundle): Promise<string[]> {
  const id = newId('sec');
  b.write();
  const r = await tsrun(['run', '--bundle', b.dir, id], { cwd: b.dir });
  const problems = expectRefused(r, id, b.dir);
  await tsrun(['delete', '--force', id]);
  return problems;
}

describe.skipIf(!!skipReason)(`/proc and /sys redirection, cgroupfs${skipNote}`, () => {
  for (const dir of ['proc', 'sys']) {
    for (const kind of ['absolute', 'relative'] as const) {
      it(`a rootfs whose /${dir} is a ${kind} symlink to a host dir is refused, host untouched`, async () => {
        const b = await makeBundle({ args: ['/bin/probe'] });
        const mark = makeMarkDir(join(b.dir, 'hostmark'));
        const before = listDir(mark.dir);
        rmSync(join(b.rootfs, dir), { recursive: true });
        symlinkSync(kind === 'absolute' ? mark.dir : '../hostmark', join(b.rootfs, dir));
        expect(await refuse(b)).toEqual([]);
        expect(listDir(mark.dir)).toEqual(before);
      });
    }
  }

  it('a bind mount of a plain directory onto /proc is refused', async () => {
    const b = await makeBundle({ args: ['/bin/probe'] });
    const fake = join(b.dir, 'fakeproc');
    mkdirSync(join(fake, 'self', 'attr'), { recursive: true });
    b.config.mounts = b.config.mounts.filter((m) => m.destination !== '/proc');
    b.config.mounts.push({ destination: '/proc', type: 'bind', source: fake, options: ['rbind'] });
    expect(await refuse(b)).toEqual([]);
  });

  it('a bind of a plain directory onto /proc after the real procfs is refused', async () => {
    const b = await makeBundle({ args: ['/bin/probe'] });
    const fake = join(b.dir, 'fakeproc');
    mkdirSync(fake);
    b.config.mounts.push({ destination: '/proc', type: 'bind', source: fake, options: ['rbind'] });
    expect(await refuse(b)).toEqual([]);
  });

  it('a tmpfs on /proc/self/attr is refused', async () => {
    const b = await makeBundle({ args: ['/bin/probe'] });
    b.config.mounts.push({ destination: '/proc/self/attr', type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] });
    expect(await refuse(b)).toEqual([]);
  });

  it('a tmpfs on /proc/sys (not on the allow-list) is refused', async () => {
    const b = await makeBundle({ args: ['/bin/probe'] });
    b.config.mounts.push({ destination: '/proc/sys', type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] });
    expect(await refuse(b)).toEqual([]);
  });

  const noCgroupNs = (b: Bundle): void => {
    b.config.linux.namespaces = (b.config.linux.namespaces ?? []).filter((n) => n.type !== 'cgroup');
  };

  it('without a cgroup namespace every cgroup hierarchy is read-only inside (default mounts)', async () => {
    const b = await makeBundle();
    noCgroupNs(b);
    const r = await probe(b);
    const cg = r.mountinfo.filter((l) => / - cgroup2? /.test(l));
    expect(cg.length).toBeGreaterThan(0);
    expect(cg.filter((l) => l.split(' ')[5]!.split(',').includes('rw'))).toEqual([]);
  });

  // The config says ro for /sys/fs/cgroup; on a cgroup v1 host that mount is the tmpfs holding
  // the hierarchies, and a runtime that forgets to remount it read-only lets the container create
  // files there (the probe's --write creates /sys/fs/cgroup/x).
  it('without a cgroup namespace /sys/fs/cgroup itself is read-only as configured', async () => {
    const b = await makeBundle();
    noCgroupNs(b);
    const r = await probe(b, ['--write', '/sys/fs/cgroup/x']);
    expect(check(r, 'write', '/sys/fs/cgroup/x').ok).toBe(false);
    expect(mountAt(r, '/sys/fs/cgroup')?.options).toContain('ro');
  });

  // CVE-2023-25809's shape: /sys as an rbind,ro of the host's /sys brings the host cgroupfs along
  // as a submount, which a plain MS_RDONLY remount of the top leaves writable.
  it('without a cgroup namespace an rbind,ro /sys leaves no writable cgroupfs below it', async () => {
    const b = await makeBundle();
    noCgroupNs(b);
    b.config.mounts = b.config.mounts.filter((m) => m.destination !== '/sys' && m.destination !== '/sys/fs/cgroup');
    b.config.mounts.push({ destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] });
    const r = await probe(b, ['--stat', '/sys/fs/cgroup']);
    const writable = r.mountinfo
      .filter((l) => / - cgroup2? /.test(l))
      .filter((l) => l.split(' ')[5]!.split(',').includes('rw'));
    expect(writable).toEqual([]);
  });
});
