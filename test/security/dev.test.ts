// SECURITY.md 8 (masked paths through a fake /dev/null, CVE-2025-31133) and 9 (console,
// CVE-2025-52565). /dev here is a bind of a directory the image controls instead of a tmpfs, so
// /dev/null and /dev/console are whatever the image put there.
// How these fail on a runtime with the hole: masking bind-mounts "/dev/null" over each masked
// path, so a /dev/null symlink to /proc/sys/kernel/ostype makes /proc/timer_list read "Linux",
// a regular file makes it read FAKE-NULL; the console bind through a /dev/console symlink puts
// the pty (char 136:N) on /proc/sys/kernel/ostype. The probe reports exactly these.
// Checked: with TSRUN_BIN=/usr/sbin/runc (Debian runc 1.1.5, which has CVE-2025-31133) the
// symlink and regular-file variants fail, reading "Linux\n" and "FAKE-NULL" through /proc/timer_list.
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  check, consoleReceiver, installCleanup, makeBundle, mountAt, newId, parseProbe, skipName, skipNote, skipReason, tsrun,
  type Bundle, type ProbeReport,
} from '../../conformance/lib/index.js';
import { expectRefused } from './helpers/index.js';

installCleanup();

const MASKED = '/proc/timer_list';
const hasTimerList = existsSync(MASKED);
const noPython = !existsSync('/usr/bin/python3');

/** Replaces the /dev tmpfs with a bind of <bundle>/fakedev, prepared by `fill`. */
async function fakeDevBundle(args: string[], fill: (dev: string) => void): Promise<Bundle> {
  const b = await makeBundle({ args });
  const dev = join(b.dir, 'fakedev');
  for (const d of ['pts', 'shm', 'mqueue']) mkdirSync(join(dev, d), { recursive: true });
  fill(dev);
  b.config.mounts = b.config.mounts.map((m) =>
    m.destination === '/dev' ? { destination: '/dev', type: 'bind', source: dev, options: ['rbind', 'nosuid'] } : m);
  return b;
}

/**
 * Runs a terminal bundle with a console socket: null when create refused it (and left nothing),
 * else the probe's report read from the pty.
 */
async function runOnConsole(b: Bundle): Promise<ProbeReport | null> {
  const rx = await consoleReceiver('', 10000);
  const id = newId('sec');
  const c = await tsrun(['create', '--bundle', b.dir, '--console-socket', rx.socketPath, id], { cwd: b.dir });
  if (c.code !== 0) {
    expect(expectRefused(c, id, b.dir)).toEqual([]);
    return null;
  }
  expect((await tsrun(['start', id])).code).toBe(0);
  const out = (await rx.done).output;
  await tsrun(['delete', '--force', id]);
  return JSON.parse(out.slice(out.indexOf('{'))) as ProbeReport;
}

describe.skipIf(!!skipReason)(`fake /dev/null and console${skipNote}`, () => {
  const variants: Array<[string, (dev: string) => void]> = [
    ['a symlink to a procfs file', (dev) => symlinkSync('/proc/sys/kernel/ostype', join(dev, 'null'))],
    ['a regular file', (dev) => writeFileSync(join(dev, 'null'), 'FAKE-NULL')],
    ['missing', () => undefined],
  ];
  for (const [name, fill] of variants) {
    it.skipIf(!hasTimerList)(skipName(!hasTimerList, `/dev/null as ${name}: refused, or ${MASKED} masked with a real 1:3 device`, `no ${MASKED} on this kernel`), async () => {
      const b = await fakeDevBundle(['/bin/probe', '--read', MASKED, '--stat', MASKED, '--stat', '/dev/null'], fill);
      const id = newId('sec');
      b.write();
      const r = await tsrun(['run', '--bundle', b.dir, id], { cwd: b.dir });
      await tsrun(['delete', '--force', id]);
      if (r.code !== 0) {
        expect(expectRefused(r, id, b.dir)).toEqual([]);
        return;
      }
      const p = parseProbe(r);
      const read = check(p, 'read', MASKED);
      expect(read.content ?? '').toBe('');
      const st = check(p, 'stat', MASKED).stat;
      expect(st).toMatchObject({ type: 'char', rdev_major: 1, rdev_minor: 3 });
    });
  }

  for (const target of ['/proc/sys/kernel/ostype', '../proc/sys/kernel/ostype']) {
    it.skipIf(noPython)(skipName(noPython, `/dev/console as a symlink (${target}) never leads the pty bind onto a procfs file`, 'no /usr/bin/python3'), async () => {
      const b = await fakeDevBundle(['/bin/probe', '--stat', '/proc/sys/kernel/ostype', '--read', '/proc/sys/kernel/ostype'], (dev) => {
        symlinkSync(target, join(dev, 'console'));
      });
      b.config.process.terminal = true;
      b.write();
      const p = await runOnConsole(b);
      if (p === null) return;
      expect(check(p, 'stat', '/proc/sys/kernel/ostype').stat?.type).toBe('file');
      expect(check(p, 'read', '/proc/sys/kernel/ostype').content).toBe('Linux\n');
      expect(mountAt(p, '/proc/sys/kernel/ostype')).toBeUndefined();
    });
  }

  it.skipIf(noPython)(skipName(noPython, '/dev/ptmx and /dev/pts/N as symlinks to procfs files (no devpts mount): refused, no bind onto procfs', 'no /usr/bin/python3'), async () => {
    // Without a devpts mount the image's /dev/pts is what the pty code meets. A runtime that opens
    // the pty or its peer by path follows these links onto procfs and binds /dev/console there;
    // tsrun takes the peer from TIOCGPTPEER on a master it checked to be a real devpts ptmx.
    const b = await fakeDevBundle(['/bin/probe', '--read', '/proc/sys/kernel/ostype'], (dev) => {
      symlinkSync('/proc/sys/kernel/ostype', join(dev, 'pts', 'ptmx'));
      symlinkSync('/proc/sys/kernel/ostype', join(dev, 'pts', '0'));
      symlinkSync('pts/ptmx', join(dev, 'ptmx'));
    });
    b.config.mounts = b.config.mounts.filter((m) => m.destination !== '/dev/pts');
    b.config.process.terminal = true;
    b.write();
    const p = await runOnConsole(b);
    if (p === null) return;
    expect(check(p, 'read', '/proc/sys/kernel/ostype').content).toBe('Linux\n');
    expect(mountAt(p, '/proc/sys/kernel/ostype')).toBeUndefined();
  });
});
