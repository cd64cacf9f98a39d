import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  check, hostMount, installCleanup, makeBundle, mountAt, parseMountinfo, parseProbe, probe, skipNote, skipReason, tsrun, newId,
  type Bundle,
} from './lib/index.js';

installCleanup();

const EROFS = 30;

/** A host directory inside the bundle dir (so cleanup removes it) holding file f = "hello". */
function hostDir(b: Bundle, name: string): string {
  const d = join(b.dir, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'f'), 'hello');
  return d;
}

describe.skipIf(!!skipReason)(`mounts${skipNote}`, () => {
  it('bind ro: readable, writes fail with EROFS, host untouched', async () => {
    const b = await makeBundle();
    const src = hostDir(b, 'src');
    b.config.mounts.push({ destination: '/mnt/ro', type: 'bind', source: src, options: ['bind', 'ro'] });
    const r = await probe(b, ['--read', '/mnt/ro/f', '--write', '/mnt/ro/new']);
    expect(check(r, 'read', '/mnt/ro/f')).toMatchObject({ ok: true, content: 'hello' });
    expect(check(r, 'write', '/mnt/ro/new')).toMatchObject({ ok: false, errno: EROFS });
    expect(mountAt(r, '/mnt/ro')?.options).toContain('ro');
    expect(existsSync(join(src, 'new'))).toBe(false);
  });

  it('bind rw: a write inside shows on the host', async () => {
    const b = await makeBundle();
    const src = hostDir(b, 'src');
    b.config.mounts.push({ destination: '/mnt/rw', type: 'bind', source: src, options: ['rbind', 'rw'] });
    const r = await probe(b, ['--data', 'from-inside', '--write', '/mnt/rw/new']);
    expect(check(r, 'write', '/mnt/rw/new').ok).toBe(true);
    expect(readFileSync(join(src, 'new'), 'utf8')).toBe('from-inside');
  });

  it('file bind onto a path that does not exist in the rootfs', async () => {
    const b = await makeBundle();
    const file = join(b.dir, 'host-file');
    writeFileSync(file, 'file-content');
    b.config.mounts.push({ destination: '/etc/conf-file', type: 'bind', source: file, options: ['bind', 'ro'] });
    const r = await probe(b, ['--read', '/etc/conf-file', '--stat', '/etc/conf-file']);
    expect(check(r, 'read', '/etc/conf-file')).toMatchObject({ ok: true, content: 'file-content' });
    expect(check(r, 'stat', '/etc/conf-file').stat?.type).toBe('file');
  });

  it('rbind carries submounts; bind does not', async () => {
    const b = await makeBundle();
    const src = hostDir(b, 'src');
    mkdirSync(join(src, 'sub'));
    hostMount(['-t', 'tmpfs', '-o', 'size=1m', 'conf-sub'], join(src, 'sub'));
    writeFileSync(join(src, 'sub', 'inner'), 'in-submount');
    b.config.mounts.push({ destination: '/mnt/r', type: 'bind', source: src, options: ['rbind'] });
    b.config.mounts.push({ destination: '/mnt/nr', type: 'bind', source: src, options: ['bind'] });
    const r = await probe(b, ['--read', '/mnt/r/sub/inner', '--read', '/mnt/nr/sub/inner']);
    expect(check(r, 'read', '/mnt/r/sub/inner')).toMatchObject({ ok: true, content: 'in-submount' });
    expect(check(r, 'read', '/mnt/nr/sub/inner').ok).toBe(false);
    expect(mountAt(r, '/mnt/r/sub')?.fstype).toBe('tmpfs');
    expect(mountAt(r, '/mnt/nr/sub')).toBeUndefined();
  });

  it('rro on an rbind makes the submount read-only too (mount_setattr AT_RECURSIVE)', async () => {
    const b = await makeBundle();
    const src = hostDir(b, 'src');
    mkdirSync(join(src, 'sub'));
    hostMount(['-t', 'tmpfs', '-o', 'size=1m', 'conf-sub'], join(src, 'sub'));
    b.config.mounts.push({ destination: '/mnt/r', type: 'bind', source: src, options: ['rbind', 'rro'] });
    const r = await probe(b, ['--write', '/mnt/r/x', '--write', '/mnt/r/sub/x']);
    expect(check(r, 'write', '/mnt/r/x')).toMatchObject({ ok: false, errno: EROFS });
    expect(check(r, 'write', '/mnt/r/sub/x')).toMatchObject({ ok: false, errno: EROFS });
    expect(mountAt(r, '/mnt/r/sub')?.options).toContain('ro');
  });

  it('tmpfs with size and mode', async () => {
    const b = await makeBundle();
    b.config.mounts.push({ destination: '/mnt/t', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'size=1m', 'mode=1700'] });
    const r = await probe(b, ['--stat', '/mnt/t', '--write', '/mnt/t/x']);
    const m = mountAt(r, '/mnt/t');
    expect(m?.fstype).toBe('tmpfs');
    expect(m?.superOptions).toEqual(expect.arrayContaining(['size=1024k', 'mode=1700']));
    expect(m?.options).toContain('nosuid');
    expect(check(r, 'stat', '/mnt/t').stat?.mode).toBe(0o1700);
    expect(check(r, 'write', '/mnt/t/x').ok).toBe(true);
  });

  it('default proc, sysfs (ro), devpts, mqueue and /dev/shm mounts', async () => {
    const r = await probe(await makeBundle(), ['--stat', '/proc/self/status']);
    expect(mountAt(r, '/proc')?.fstype).toBe('proc');
    expect(check(r, 'stat', '/proc/self/status').ok).toBe(true);
    const sys = mountAt(r, '/sys');
    expect(sys?.fstype).toBe('sysfs');
    expect(sys?.options).toContain('ro');
    const pts = mountAt(r, '/dev/pts');
    expect(pts?.fstype).toBe('devpts');
    expect(pts?.superOptions).toEqual(expect.arrayContaining(['mode=620', 'ptmxmode=666']));
    expect(mountAt(r, '/dev/mqueue')?.fstype).toBe('mqueue');
    expect(mountAt(r, '/dev/shm')?.fstype).toBe('tmpfs');
  });

  // Writable cgroupfs in a container without a cgroup namespace lets it escape its limits
  // (CVE-2023-25809): every cgroup filesystem mounted inside must be read-only.
  it('cgroup filesystems under /sys/fs/cgroup are read-only inside (CVE-2023-25809)', async () => {
    const first = await probe(await makeBundle());
    const cg = parseMountinfo(first.mountinfo).filter((m) => m.fstype === 'cgroup' || m.fstype === 'cgroup2');
    expect(cg.length).toBeGreaterThan(0);
    for (const m of cg) expect(m.options, m.mountPoint).toContain('ro');
    const procs = `${cg[0]!.mountPoint}/cgroup.procs`;
    const r = await probe(await makeBundle(), ['--write', procs]);
    expect(check(r, 'write', procs)).toMatchObject({ ok: false, errno: EROFS });
  });

  it('overlay with lowerdir/upperdir/workdir', async () => {
    const b = await makeBundle();
    const lower = hostDir(b, 'lower');
    const upper = join(b.dir, 'upper');
    const work = join(b.dir, 'work');
    mkdirSync(upper);
    mkdirSync(work);
    b.config.mounts.push({
      destination: '/mnt/ov', type: 'overlay', source: 'overlay',
      options: [`lowerdir=${lower}`, `upperdir=${upper}`, `workdir=${work}`],
    });
    const r = await probe(b, ['--read', '/mnt/ov/f', '--data', 'up', '--write', '/mnt/ov/g']);
    expect(mountAt(r, '/mnt/ov')?.fstype).toBe('overlay');
    expect(check(r, 'read', '/mnt/ov/f')).toMatchObject({ ok: true, content: 'hello' });
    expect(check(r, 'write', '/mnt/ov/g').ok).toBe(true);
    expect(readFileSync(join(upper, 'g'), 'utf8')).toBe('up');
    expect(existsSync(join(lower, 'g'))).toBe(false);
  });

  it('bind propagation: rslave of a shared host mount is a slave (master:N), rprivate is neither', async () => {
    const b = await makeBundle();
    const src = hostDir(b, 'shared-src');
    hostMount(['--bind', src], src);
    hostMount(['--make-shared'], src);
    b.config.mounts.push({ destination: '/mnt/slave', type: 'bind', source: src, options: ['rbind', 'rslave'] });
    b.config.mounts.push({ destination: '/mnt/priv', type: 'bind', source: src, options: ['rbind', 'rprivate'] });
    const r = await probe(b);
    expect(mountAt(r, '/mnt/slave')?.optional.some((o) => o.startsWith('master:'))).toBe(true);
    expect(mountAt(r, '/mnt/priv')?.optional.filter((o) => /^(shared|master):/.test(o))).toEqual([]);
  });

  it('bind propagation: shared makes a peer (shared:N)', async () => {
    const b = await makeBundle();
    const src = hostDir(b, 'src');
    b.config.linux.rootfsPropagation = 'shared';
    b.config.mounts.push({ destination: '/mnt/sh', type: 'bind', source: src, options: ['rbind', 'rshared'] });
    const r = await probe(b);
    expect(mountAt(r, '/mnt/sh')?.optional.some((o) => o.startsWith('shared:'))).toBe(true);
  });

  it('relative mount destination is taken relative to /', async () => {
    const b = await makeBundle();
    b.config.mounts.push({ destination: 'mnt/rel', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] });
    const r = await probe(b);
    expect(mountAt(r, '/mnt/rel')?.fstype).toBe('tmpfs');
  });

  it('root.readonly true: / is read-only', async () => {
    const b = await makeBundle({ readonlyRoot: true });
    const r = await probe(b, ['--write', '/conf-x']);
    expect(check(r, 'write', '/conf-x')).toMatchObject({ ok: false, errno: EROFS });
    expect(mountAt(r, '/')?.options).toContain('ro');
  });

  it('root.readonly false: / is writable', async () => {
    const b = await makeBundle({ readonlyRoot: false });
    const r = await probe(b, ['--write', '/conf-x']);
    expect(check(r, 'write', '/conf-x').ok).toBe(true);
    expect(existsSync(join(b.rootfs, 'conf-x'))).toBe(true);
  });

  it('rootfsPropagation private: / has no shared or master tag', async () => {
    const b = await makeBundle();
    b.config.linux.rootfsPropagation = 'private';
    const r = await probe(b);
    expect(mountAt(r, '/')?.optional.filter((o) => /^(shared|master):/.test(o))).toEqual([]);
  });

  it('rootfsPropagation shared: / is shared', async () => {
    const b = await makeBundle();
    b.config.linux.rootfsPropagation = 'shared';
    const r = await probe(b);
    expect(mountAt(r, '/')?.optional.some((o) => o.startsWith('shared:'))).toBe(true);
  });

  it('--no-pivot runs the container with the bundle rootfs as /', async () => {
    const b = await makeBundle();
    b.config.process.args = ['/bin/probe', '--read', '/etc/passwd'];
    b.write();
    const id = newId();
    const res = await tsrun(['run', '--no-pivot', '--bundle', b.dir, id], { cwd: b.dir });
    await tsrun(['delete', '--force', id]);
    const r = parseProbe(res);
    expect(check(r, 'read', '/etc/passwd').content).toContain('tester:x:1000');
    expect(mountAt(r, '/')).toBeDefined();
  });

  it('maskedPaths: a file reads empty, a directory lists empty and is read-only', async () => {
    const b = await makeBundle({ readonlyRoot: false });
    writeFileSync(join(b.rootfs, 'etc', 'secret-file'), 'SECRET');
    mkdirSync(join(b.rootfs, 'etc', 'secret-dir'));
    writeFileSync(join(b.rootfs, 'etc', 'secret-dir', 'x'), 'SECRET');
    b.config.linux.maskedPaths = ['/etc/secret-file', '/etc/secret-dir', '/proc/kcore', '/does/not/exist'];
    const r = await probe(b, [
      '--read', '/etc/secret-file', '--ls', '/etc/secret-dir', '--write', '/etc/secret-dir/y', '--stat', '/etc/secret-file',
    ]);
    expect(check(r, 'read', '/etc/secret-file')).toMatchObject({ ok: true, content: '' });
    expect(check(r, 'stat', '/etc/secret-file').stat).toMatchObject({ type: 'char', rdev_major: 1, rdev_minor: 3 });
    expect(check(r, 'ls', '/etc/secret-dir')).toMatchObject({ ok: true, content: '' });
    expect(check(r, 'write', '/etc/secret-dir/y').ok).toBe(false);
    expect(readFileSync(join(b.rootfs, 'etc', 'secret-file'), 'utf8')).toBe('SECRET');
  });

  it('readonlyPaths: /proc/sys and a rootfs directory become read-only, others stay writable', async () => {
    const b = await makeBundle({ readonlyRoot: false });
    b.config.linux.readonlyPaths = ['/proc/sys', '/home/tester'];
    const r = await probe(b, ['--write', '/home/tester/x', '--write', '/proc/sys/kernel/hostname', '--write', '/tmp/x']);
    expect(check(r, 'write', '/home/tester/x')).toMatchObject({ ok: false, errno: EROFS });
    expect(check(r, 'write', '/proc/sys/kernel/hostname')).toMatchObject({ ok: false, errno: EROFS });
    expect(check(r, 'write', '/tmp/x').ok).toBe(true);
    expect(mountAt(r, '/proc/sys')?.options).toContain('ro');
  });
});
