// tmpfs mounts as runc makes them, which podman relies on: `tmpcopyup` (podman --tmpfs and
// --read-only) starts the tmpfs with a copy of the image's directory; a tmpfs over an existing
// directory keeps its mode; a read-only tmpfs becomes read-only only once the rootfs is finished, so
// copy-up and later mounts inside it work (podman binds /etc/hostname into `--tmpfs /etc:ro`).
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { installCleanup, makeBundle, runContainer, skipNote, skipReason, type Bundle } from '../../conformance/lib/index.js';

installCleanup();

/** Runs `sh -c script` in the bundle; fails the test with tsrun's output when the run fails. */
async function sh(b: Bundle, script: string): Promise<string> {
  b.config.process.args = ['sh', '-c', script];
  const r = await runContainer(b);
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/** /data in the image: a file with owner and mode, a private subdirectory, relative and absolute symlinks, a FIFO. */
function imageData(b: Bundle, hostMark: string): string {
  const data = join(b.rootfs, 'data');
  mkdirSync(join(data, 'd'), { recursive: true });
  chmodSync(data, 0o750);
  writeFileSync(join(data, 'f'), 'image');
  chownSync(join(data, 'f'), 1000, 1000);
  // Others may read it: the container's root has no CAP_DAC_OVERRIDE in the default spec.
  chmodSync(join(data, 'f'), 0o604);
  chmodSync(join(data, 'd'), 0o700);
  writeFileSync(join(data, 'd', 'g'), 'deep');
  symlinkSync('f', join(data, 'rel'));
  // Points at a host directory: copied as a link, never followed (nothing of the host is read).
  symlinkSync(hostMark, join(data, 'abs'));
  // Recreated, never opened (opening a FIFO for reading would block).
  execFileSync('mkfifo', ['-m', '0600', join(data, 'p')]);
  return data;
}

describe.skipIf(!!skipReason)(`tmpfs: tmpcopyup, mode of the covered directory, deferred read-only${skipNote}`, () => {
  it('tmpcopyup copies type, mode, owner and links of the image directory; writes stay in the tmpfs', async () => {
    const b = await makeBundle();
    const mark = join(b.dir, 'host-mark');
    mkdirSync(mark);
    writeFileSync(join(mark, 'secret'), 'host');
    const data = imageData(b, mark);
    b.config.mounts.push({ destination: '/data', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'tmpcopyup'] });
    const out = await sh(b, [
      'stat -c "%n %a %u:%g %F" /data /data/f /data/d /data/d/g /data/rel /data/abs /data/p',
      'readlink /data/rel; readlink /data/abs',
      'cat /data/f /data/d/g; echo',
      'echo changed > /data/d/g && cat /data/d/g',
      'grep " /data " /proc/mounts | cut -d" " -f3',
    ].join('; '));
    expect(out.split('\n')).toEqual([
      '/data 750 0:0 directory',
      '/data/f 604 1000:1000 regular file',
      '/data/d 700 0:0 directory',
      '/data/d/g 644 0:0 regular file',
      '/data/rel 777 0:0 symbolic link',
      '/data/abs 777 0:0 symbolic link',
      '/data/p 600 0:0 fifo',
      'f',
      mark,
      'imagedeep',
      'changed',
      'tmpfs',
      '',
    ]);
    // The image is untouched, the host directory behind the absolute link was not copied.
    expect(readFileSync(join(data, 'f'), 'utf8')).toBe('image');
    expect(readFileSync(join(data, 'd', 'g'), 'utf8')).toBe('deep');
    expect(readdirSync(mark)).toEqual(['secret']);
  });

  it('a read-only tmpfs with tmpcopyup is filled, then read-only; a later bind inside it still works', async () => {
    const b = await makeBundle();
    imageData(b, '/nonexistent');
    const hostFile = join(b.dir, 'hostname');
    writeFileSync(hostFile, 'from-host\n');
    b.config.mounts.push({ destination: '/data', type: 'tmpfs', source: 'tmpfs', options: ['ro', 'tmpcopyup'] });
    // The bind's target does not exist in the image: it is created in the tmpfs before it is read-only.
    b.config.mounts.push({ destination: '/data/hostname', type: 'bind', source: hostFile, options: ['bind', 'ro'] });
    const out = await sh(b, 'cat /data/f /data/hostname; touch /data/new 2>&1; grep " /data " /proc/mounts | cut -d" " -f4 | cut -d, -f1');
    expect(out).toBe('imagefrom-host\ntouch: /data/new: Read-only file system\nro\n');
  });

  it('a tmpfs over an existing directory keeps its mode unless mode= is given; a new one is 1777', async () => {
    const b = await makeBundle();
    mkdirSync(join(b.rootfs, 'keep'), { mode: 0o750 });
    chmodSync(join(b.rootfs, 'keep'), 0o750);
    mkdirSync(join(b.rootfs, 'explicit'));
    chmodSync(join(b.rootfs, 'explicit'), 0o750);
    b.config.mounts.push(
      { destination: '/keep', type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] },
      { destination: '/explicit', type: 'tmpfs', source: 'tmpfs', options: ['mode=1770'] },
      { destination: '/fresh', type: 'tmpfs', source: 'tmpfs', options: [] },
    );
    const out = await sh(b, 'stat -c "%n %a" /keep /explicit /fresh; grep -c " /keep tmpfs " /proc/mounts');
    expect(out).toBe('/keep 750\n/explicit 1770\n/fresh 1777\n1\n');
  });
});
