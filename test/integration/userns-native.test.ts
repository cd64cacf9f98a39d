// The addon's user-namespace parts directly (spawnInit beforeExec/becomeRoot, the pid-namespace
// fork, idmappedTree), with busybox as the exec'd program: what the kernel shows from the host.
import * as fs from 'node:fs';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { native } from '../../src/native/index.js';
import type { SpawnInitOptions } from '../../src/native/types.js';

const BUSYBOX = '/bin/busybox';
const isRoot = process.getuid?.() === 0;
const addonBuilt = existsSync(join(import.meta.dirname, '..', '..', 'build', 'Release', 'tsrun.node'));

function opts(extra: Partial<SpawnInitOptions>): SpawnInitOptions {
  return {
    initPath: BUSYBOX, argv: ['sleep', '30'], cloneFlags: 0, joinInChild: [], unshareFlags: 0,
    pidNamespaceFd: -1, cgroupFd: -1, fds: [0, 1, 2], pdeathSignal: 0, ...extra,
  };
}

describe.skipIf(!isRoot || !addonBuilt || !existsSync(BUSYBOX))('addon user namespaces (root, real kernel)', () => {
  const n = native();
  const kill = (pidfd: number): void => {
    n.pidfdSendSignal(pidfd, 9);
    n.pidfdWait(pidfd, 5000);
  };

  it('beforeExec runs while the child waits (maps written), becomeRoot makes it root with full caps', () => {
    const seen: string[] = [];
    const c = n.spawnInit(opts({
      cloneFlags: n.constants.CLONE_NEWUSER,
      beforeExec: (pid) => {
        // Still the addon's child, not busybox yet.
        seen.push(readlinkSync(`/proc/${pid}/exe`));
        fs.writeFileSync(`/proc/${pid}/uid_map`, '0 300000 1000\n');
        fs.writeFileSync(`/proc/${pid}/gid_map`, '0 300000 1000\n');
      },
      becomeRoot: true,
    }));
    try {
      expect(seen[0]).not.toMatch(/busybox/);
      const status = readFileSync(`/proc/${c.pid}/status`, 'utf8');
      expect(status).toMatch(/^Uid:\s+300000\s+300000\s+300000/m);
      expect(status).toMatch(/^Gid:\s+300000\s+300000\s+300000/m);
      // execve as root of the namespace kept the full set.
      expect(status).toMatch(/^CapEff:\s+000001ffffffffff/m);
    } finally {
      kill(c.pidfd);
    }
  });

  it('a throwing beforeExec kills and reaps the waiting child and is rethrown', () => {
    let pid = 0;
    expect(() => n.spawnInit(opts({
      cloneFlags: n.constants.CLONE_NEWUSER,
      beforeExec: (p) => {
        pid = p;
        throw new Error('maps refused');
      },
    }))).toThrow('maps refused');
    expect(pid).toBeGreaterThan(0);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
  });

  it('becomeRoot without a mapping for id 0 fails naming setresgid and the cause', () => {
    expect(() => n.spawnInit(opts({
      cloneFlags: n.constants.CLONE_NEWUSER,
      beforeExec: (pid) => {
        fs.writeFileSync(`/proc/${pid}/uid_map`, '1 300000 10\n');
        fs.writeFileSync(`/proc/${pid}/gid_map`, '1 300000 10\n');
      },
      becomeRoot: true,
    }))).toThrow(/setresgid.*becoming root in the user namespace/);
  });

  it('CLONE_NEWPID in unshareFlags: the returned pid is pid 1 of the new namespace and our child', async () => {
    const c = n.spawnInit(opts({ unshareFlags: n.constants.CLONE_NEWPID }));
    try {
      const nspid = readFileSync(`/proc/${c.pid}/status`, 'utf8').match(/^NSpid:\s+(.*)$/m)![1]!.trim().split(/\s+/);
      expect(nspid).toEqual([String(c.pid), '1']);
      expect(Number(readFileSync(`/proc/${c.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1])).toBe(process.pid);
    } finally {
      n.pidfdSendSignal(c.pidfd, 9);
    }
    expect(await n.waitPidfd(c.pidfd)).toEqual({ exitCode: null, signal: 9 });
  });

  it('idmappedTree: bad source and bad maps are errors naming the call; a good one is a mount fd', () => {
    expect(() => n.idmappedTree('/nonexistent-tsrun', '0 1000 1\n', '0 1000 1\n', false, false)).toThrow(/ENOENT.*open_tree/);
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-idmap-'));
    try {
      expect(() => n.idmappedTree(dir, 'garbage\n', '0 1000 1\n', false, false)).toThrow(/EINVAL.*uid_map/);
      const fd = n.idmappedTree(dir, '0 1000 1\n', '0 1000 1\n', false, false);
      // A detached tree (its own root "/"), of that very directory.
      expect(readlinkSync(`/proc/self/fd/${fd}`)).toBe('/');
      expect(fs.fstatSync(fd).ino).toBe(fs.statSync(dir).ino);
      expect(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8')).toMatch(/^mnt_id:/m);
      fs.closeSync(fd);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
