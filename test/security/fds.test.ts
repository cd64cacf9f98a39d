// SECURITY.md 1: leaked descriptors and cwd (CVE-2024-21626). tsrun is a Node process holding
// epoll/eventfd/pipe fds, and callers pass more (containerd: its socket as fd 3). Any of them
// reaching the container lets process.cwd or args[0] = /proc/self/fd/N walk the host.
// How these fail on a runtime with the hole: the host MARK dir is passed to tsrun as fds 3..12,
// so a leaked copy makes `ls` in the container's cwd print the MARK name, or makes the host
// script MARK-exe run and print ESCAPED; the from-host check sees the MARK inode among the
// waiting init's fds (checked by reasoning on these exact observables: each assertion is on what
// the container printed or on /proc/<pid>/fd of the init, not on tsrun's exit status).
// Checked: with TSRUN_BIN=/usr/sbin/runc the from-host allow-list case fails (runc init holds
// its own pipes while it waits).
import { closeSync, copyFileSync, mkdirSync, readFileSync, openSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  containerState, installCleanup, makeBundle, newId, probe, runContainer, skipNote, skipReason, tsrun,
} from '../../conformance/lib/index.js';
import { execMissing, leftovers, makeMarkDir } from './helpers/index.js';

installCleanup();

const EXTRA = 10;
const O_PATH = 0o10000000;
const O_CLOEXEC = 0o2000000;
// N=3..18 covers every fd tsrun's Node and its callers plausibly hold; a few high ones stand for
// the rest of 3..255 (the full range would cost minutes).
const FD_NUMBERS = [...Array.from({ length: 16 }, (_, i) => i + 3), 24, 32, 64, 255];
const noExec = skipReason ? '' : await execMissing();

/** Opens the MARK dir EXTRA times; the fds go to tsrun as its fds 3..3+EXTRA-1. */
function markFds(dir: string): { fds: number[]; close(): void } {
  const fds = Array.from({ length: EXTRA }, () => openSync(dir, 'r'));
  return { fds, close: () => fds.forEach((fd) => closeSync(fd)) };
}

describe.skipIf(!!skipReason)(`leaked fds and cwd (CVE-2024-21626)${skipNote}`, () => {
  it('process.cwd = /proc/self/fd/N never shows the host MARK dir', async () => {
    const b = await makeBundle();
    const mark = makeMarkDir(join(b.dir, 'hostmark'));
    const m = markFds(mark.dir);
    const seen: string[] = [];
    try {
      for (const n of FD_NUMBERS) {
        b.config.process.cwd = `/proc/self/fd/${n}`;
        b.config.process.args = ['/bin/sh', '-c', 'ls -a . ..; cat ./MARK* 2>/dev/null; pwd'];
        const id = newId('sec');
        const r = await runContainer(b, id, { extraFds: m.fds });
        if (r.stdout.includes(mark.name) || r.stdout.includes('host-only')) seen.push(`fd ${n}: ${r.stdout}`);
        expect(leftovers(id, b.dir)).toEqual([]);
      }
    } finally {
      m.close();
    }
    expect(seen).toEqual([]);
  }, 120000);

  it('args[0] = /proc/self/fd/N/<host script> never runs the host file', async () => {
    const b = await makeBundle();
    const mark = makeMarkDir(join(b.dir, 'hostmark'));
    writeFileSync(join(mark.dir, 'MARK-exe'), '#!/bin/sh\necho ESCAPED\n', { mode: 0o755 });
    const m = markFds(mark.dir);
    const seen: string[] = [];
    try {
      for (const n of FD_NUMBERS) {
        b.config.process.args = [`/proc/self/fd/${n}/MARK-exe`];
        const r = await runContainer(b, newId('sec'), { extraFds: m.fds });
        if (r.stdout.includes('ESCAPED')) seen.push(`fd ${n}`);
      }
    } finally {
      m.close();
    }
    expect(seen).toEqual([]);
  }, 120000);

  // The init holds the host's procfs while it waits (main.cc open_procfs). A host process with
  // no capabilities and uid 0 is ptrace-readable by container root, so a path walk through a
  // procfs fd still open at execve time would reach its host cwd. A runtime that resolved args[0]
  // through such an fd runs the host copy of the probe and prints its JSON: that is the failure.
  it('args[0] through any fd into host /proc/<pid>/cwd never executes a host binary', async () => {
    const b = await makeBundle();
    const mark = makeMarkDir(join(b.dir, 'hostmark'));
    copyFileSync(join(b.rootfs, 'bin', 'probe'), join(mark.dir, 'MARK-bin'));
    const { spawn } = await import('node:child_process');
    const sleeper = spawn('capsh', ['--drop=all', '--', '-c', 'exec sleep 60'], { cwd: mark.dir, stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const seen: string[] = [];
      for (let n = 3; n <= 12; n++) {
        b.config.process.args = [`/proc/self/fd/${n}/${sleeper.pid}/cwd/MARK-bin`];
        const r = await runContainer(b, newId('sec'));
        if (r.stdout.includes('"pid"')) seen.push(`fd ${n}: ran the host binary`);
      }
      expect(seen).toEqual([]);
    } finally {
      sleeper.kill('SIGKILL');
    }
  }, 60000);

  it('pid 1 holds only fds 0-2 although tsrun inherited ten more', async () => {
    const b = await makeBundle();
    const mark = makeMarkDir(join(b.dir, 'hostmark'));
    const m = markFds(mark.dir);
    try {
      const r = await probe(b, [], { extraFds: m.fds });
      expect(Object.keys(r.fds).sort()).toEqual(['0', '1', '2']);
    } finally {
      m.close();
    }
  });

  it('from the host, the waiting init after create: only stdio, its exec fifo and its own root open; an empty environment; an unlinked memfd exe', async () => {
    const b = await makeBundle({ args: ['/bin/sleep', '100'] });
    const mark = makeMarkDir(join(b.dir, 'hostmark'));
    const m = markFds(mark.dir);
    const id = newId('sec');
    try {
      const c = await tsrun(['create', '--bundle', b.dir, id], {
        cwd: mark.dir,
        extraFds: m.fds,
        env: { ...process.env, SEC_CANARY: 'canary-in-tsrun-env' },
      });
      expect(c.code, c.stderr).toBe(0);
    } finally {
      m.close();
    }
    const pid = (await containerState(id)).pid!;
    const root = statSync(`/proc/${pid}/root`);
    const markSt = statSync(mark.dir);
    const bad: string[] = [];
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      if (['0', '1', '2'].includes(fd)) continue;
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const st = statSync(`/proc/${pid}/fd/${fd}`);
      const isFifo = link.endsWith(`/${id}/exec.fifo`) && st.isFIFO();
      const isOwnRoot = st.dev === root.dev && st.ino === root.ino;
      // oci-init keeps an O_PATH|O_CLOEXEC handle on the host procfs (addon/init/main.cc
      // open_procfs): allowed only in that form, so it cannot survive execve nor be read through.
      const flags = parseInt(/flags:\s+([0-7]+)/.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))![1]!, 8);
      const isProcHandle = st.dev === statSync('/proc').dev && st.ino === 1 && (flags & O_PATH) !== 0 && (flags & O_CLOEXEC) !== 0;
      if (!isFifo && !isOwnRoot && !isProcHandle) bad.push(`${fd} -> ${link} (flags ${flags.toString(8)})`);
      if (st.dev === markSt.dev && st.ino === markSt.ino) bad.push(`${fd} is the host MARK dir`);
    }
    expect(bad).toEqual([]);
    const cwd = statSync(`/proc/${pid}/cwd`);
    expect(cwd.dev === markSt.dev && cwd.ino === markSt.ino, 'init cwd is the host MARK dir').toBe(false);
    // Allow-list for the environment: empty. oci-init is started with no environment at all; the
    // container's process.env is only passed at its own execve.
    expect(readFileSync(`/proc/${pid}/environ`, 'utf8')).toBe('');
    // exe: the sealed in-memory copy (CVE-2019-5736), no file with a name on the host.
    expect(readlinkSync(`/proc/${pid}/exe`)).toMatch(/^\/memfd:/);
    expect(statSync(`/proc/${pid}/exe`).nlink).toBe(0);
    await tsrun(['delete', '--force', id]);
  });

  it.skipIf(!!noExec)(`exec --cwd through a symlink to /proc/self/fd/N never shows the host MARK dir${noExec ? ` (skipped: ${noExec})` : ''}`, async () => {
    const b = await makeBundle({ args: ['/bin/sleep', '100'] });
    const mark = makeMarkDir(join(b.dir, 'hostmark'));
    mkdirSync(join(b.rootfs, 'links'));
    for (const n of FD_NUMBERS) symlinkSync(`/proc/self/fd/${n}`, join(b.rootfs, 'links', String(n)));
    const id = newId('sec');
    b.write();
    expect((await tsrun(['run', '-d', '--bundle', b.dir, id], { cwd: b.dir })).code).toBe(0);
    const m = markFds(mark.dir);
    const seen: string[] = [];
    try {
      for (const n of FD_NUMBERS) {
        const r = await tsrun(['exec', '--cwd', `/links/${n}`, id, '/bin/sh', '-c', 'ls -a; pwd'], { extraFds: m.fds });
        if (r.stdout.includes(mark.name)) seen.push(`fd ${n}: ${r.stdout}`);
      }
    } finally {
      m.close();
      await tsrun(['delete', '--force', id]);
    }
    expect(seen).toEqual([]);
  }, 120000);
});
