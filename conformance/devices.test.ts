import { describe, expect, it } from 'vitest';
import { check, installCleanup, makeBundle, mountAt, probe, skipNote, skipReason } from './lib/index.js';

installCleanup();

/** The devices every Linux container gets (runtime-spec config-linux.md, "Default Devices"). */
const DEFAULT_DEVICES: Array<[string, number, number]> = [
  ['/dev/null', 1, 3], ['/dev/zero', 1, 5], ['/dev/full', 1, 7],
  ['/dev/random', 1, 8], ['/dev/urandom', 1, 9], ['/dev/tty', 5, 0],
];

describe.skipIf(!!skipReason)(`devices${skipNote}`, () => {
  it('default devices exist as char devices with the right major:minor and mode 0666', async () => {
    const r = await probe(await makeBundle(), DEFAULT_DEVICES.flatMap(([p]) => ['--stat', p]));
    for (const [path, major, minor] of DEFAULT_DEVICES) {
      const c = check(r, 'stat', path);
      expect(c.ok, path).toBe(true);
      expect(c.stat, path).toMatchObject({ type: 'char', rdev_major: major, rdev_minor: minor, mode: 0o666 });
    }
  });

  it('/dev is a tmpfs of the container, not the host /dev', async () => {
    const r = await probe(await makeBundle(), ['--ls', '/dev']);
    expect(mountAt(r, '/dev')?.fstype).toBe('tmpfs');
    const names = check(r, 'ls', '/dev').content!.split('\n');
    expect(names).toEqual(expect.arrayContaining(['null', 'zero', 'full', 'random', 'urandom', 'tty', 'pts', 'shm']));
    // Host-only nodes must not show up.
    expect(names).not.toContain('vda');
    expect(names).not.toContain('kmsg');
  });

  it('default devices can be used: /dev/null writes, /dev/zero reads', async () => {
    const r = await probe(await makeBundle(), ['--write', '/dev/null', '--read', '/dev/null']);
    expect(check(r, 'write', '/dev/null').ok).toBe(true);
    expect(check(r, 'read', '/dev/null')).toMatchObject({ ok: true, content: '' });
  });

  it('linux.devices: a char device with fileMode, uid and gid', async () => {
    const b = await makeBundle();
    b.config.linux.devices = [{ path: '/dev/conf-full', type: 'c', major: 1, minor: 7, fileMode: 0o640, uid: 1000, gid: 2000 }];
    // As the node's owner: the default capabilities lack CAP_DAC_OVERRIDE, so root could not write it.
    b.config.process.user = { uid: 1000, gid: 1000 };
    const r = await probe(b, ['--stat', '/dev/conf-full', '--write', '/dev/conf-full']);
    expect(check(r, 'stat', '/dev/conf-full').stat).toMatchObject({
      type: 'char', rdev_major: 1, rdev_minor: 7, mode: 0o640, uid: 1000, gid: 2000,
    });
    // /dev/full: every write fails with ENOSPC, which proves the node reaches the real driver.
    expect(check(r, 'write', '/dev/conf-full')).toMatchObject({ ok: false, errno: 28 });
  });

  it('linux.devices: a fifo (type p) in a subdirectory', async () => {
    const b = await makeBundle();
    b.config.linux.devices = [{ path: '/dev/conf/fifo', type: 'p', fileMode: 0o600 }];
    const r = await probe(b, ['--stat', '/dev/conf/fifo']);
    expect(check(r, 'stat', '/dev/conf/fifo').stat).toMatchObject({ type: 'fifo', mode: 0o600 });
  });

  it('linux.devices: a block device (b) and an unbuffered char device (u) get the right node types', async () => {
    const b = await makeBundle();
    b.config.linux.devices = [
      { path: '/dev/conf-blk', type: 'b', major: 7, minor: 200, fileMode: 0o600 },
      { path: '/dev/conf-u', type: 'u', major: 1, minor: 5, fileMode: 0o644 },
    ];
    const r = await probe(b, ['--stat', '/dev/conf-blk', '--stat', '/dev/conf-u']);
    expect(check(r, 'stat', '/dev/conf-blk').stat).toMatchObject({ type: 'block', rdev_major: 7, rdev_minor: 200, mode: 0o600 });
    expect(check(r, 'stat', '/dev/conf-u').stat).toMatchObject({ type: 'char', rdev_major: 1, rdev_minor: 5, mode: 0o644 });
  });

  it('/dev symlinks: fd, stdin, stdout, stderr, ptmx', async () => {
    const links: Array<[string, string]> = [
      ['/dev/fd', '/proc/self/fd'], ['/dev/stdin', '/proc/self/fd/0'], ['/dev/stdout', '/proc/self/fd/1'],
      ['/dev/stderr', '/proc/self/fd/2'], ['/dev/ptmx', 'pts/ptmx'],
    ];
    const r = await probe(await makeBundle(), links.flatMap(([p]) => ['--readlink', p]));
    for (const [path, target] of links) expect(check(r, 'readlink', path), path).toMatchObject({ ok: true, content: target });
  });

  it('devpts is a new instance: /dev/pts holds only ptmx', async () => {
    const r = await probe(await makeBundle(), ['--ls', '/dev/pts']);
    expect(check(r, 'ls', '/dev/pts').content).toBe('ptmx');
  });
});
