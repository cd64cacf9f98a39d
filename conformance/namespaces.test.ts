import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  check, hostNs, installCleanup, makeBundle, onCleanup, pidAlive, probe, runContainer, skipNote, skipReason, waitFor,
  type Bundle, type OciNamespace,
} from './lib/index.js';

installCleanup();

/** OCI namespace type → name under /proc/<pid>/ns/. */
const NS_FILE: Record<string, string> = {
  pid: 'pid', network: 'net', ipc: 'ipc', uts: 'uts', mount: 'mnt', cgroup: 'cgroup', user: 'user', time: 'time',
};

/** unshare(1) flag that makes a namespace of each type (pid needs --fork: the child is in it). */
const UNSHARE_FLAG: Record<string, string[]> = {
  pid: ['--pid', '--kill-child'], network: ['--net'], ipc: ['--ipc'], uts: ['--uts'],
  mount: ['--mount', '--propagation', 'private'], cgroup: ['--cgroup'], time: ['--time'],
};

const USERNS_MAP = [{ containerID: 0, hostID: 100000, size: 65536 }];

async function bundleWithNs(types: string[], edit?: (b: Bundle) => void): Promise<Bundle> {
  const b = await makeBundle();
  b.config.linux.namespaces = types.map((type) => ({ type }));
  if (types.includes('user')) {
    b.config.linux.uidMappings = USERNS_MAP;
    b.config.linux.gidMappings = USERNS_MAP;
  }
  edit?.(b);
  // A hostname needs a UTS namespace of the container's own (runtime-spec config.md, "Hostname").
  if (!b.config.linux.namespaces?.some((n) => n.type === 'uts')) {
    delete b.config.hostname;
    delete b.config.domainname;
  }
  return b;
}

/**
 * Starts `unshare <flags> sleep 1000` as a namespace holder and returns the pid of the process that
 * is inside the new namespace (for --pid that is unshare's forked child). Killed at cleanup.
 */
async function holder(type: string): Promise<number> {
  const child = spawn('unshare', [...UNSHARE_FLAG[type]!, '--', 'sleep', '1000'], { stdio: 'ignore', detached: true });
  const top = child.pid!;
  onCleanup(() => {
    try {
      process.kill(-top, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  let pid = top;
  // Wait until the process in the namespace runs sleep (its ns link then differs from ours).
  const ok = await waitFor(() => {
    try {
      const kids = readFileSync(`/proc/${top}/task/${top}/children`, 'utf8').trim();
      if (type === 'pid') pid = Number(kids.split(' ')[0]);
      return pid > 0 && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep';
    } catch {
      return false;
    }
  }, 5000);
  if (!ok) throw new Error(`namespace holder for ${type} did not start`);
  return pid;
}

const hostUptime = (): number => Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
const hostMonotonic = (): number => Number(process.hrtime.bigint()) / 1e9;

describe.skipIf(!!skipReason)(`namespaces${skipNote}`, () => {
  for (const type of ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup', 'time']) {
    it(`new ${type} namespace: inode differs from the host's`, async () => {
      const b = await bundleWithNs(type === 'mount' ? ['mount'] : ['mount', type]);
      const r = await probe(b);
      const f = NS_FILE[type]!;
      expect(r.ns[f]).toBeGreaterThan(0);
      expect(r.ns[f]).not.toBe(hostNs(f));
      if (type === 'pid') expect(r.pid).toBe(1);
    });
  }

  it('new user namespace with uid/gid mappings', async () => {
    const b = await bundleWithNs(['user', 'mount', 'pid', 'network', 'ipc', 'uts'], (b) => {
      b.config.process.args = [];
    });
    const r = await probe(b, ['--read', '/proc/self/uid_map', '--read', '/proc/self/gid_map']);
    expect(r.ns.user).not.toBe(hostNs('user'));
    expect(r.uid.real).toBe(0);
    expect(check(r, 'read', '/proc/self/uid_map').content?.trim().split(/\s+/)).toEqual(['0', '100000', '65536']);
    expect(check(r, 'read', '/proc/self/gid_map').content?.trim().split(/\s+/)).toEqual(['0', '100000', '65536']);
  });

  it('a namespace not listed is shared with the host', async () => {
    const b = await bundleWithNs(['mount', 'pid']);
    const r = await probe(b);
    expect(r.ns.net).toBe(hostNs('net'));
    expect(r.ns.ipc).toBe(hostNs('ipc'));
    expect(r.ns.uts).toBe(hostNs('uts'));
  });

  for (const type of ['network', 'ipc', 'uts', 'pid', 'cgroup', 'time', 'mount']) {
    it(`joins an existing ${type} namespace by path`, async () => {
      const pid = await holder(type);
      const f = NS_FILE[type]!;
      const path = `/proc/${pid}/ns/${f}`;
      const want = statSync(path).ino;
      expect(want).not.toBe(hostNs(f));
      const ns: OciNamespace[] = [{ type: 'mount' }, { type: 'pid' }].filter((n) => n.type !== type);
      ns.push({ type, path });
      const b = await bundleWithNs([], (b) => (b.config.linux.namespaces = ns));
      const r = await probe(b);
      expect(r.ns[f]).toBe(want);
      expect(pidAlive(pid)).toBe(true);
    });
  }

  it('hostname and domainname (uts namespace)', async () => {
    const b = await bundleWithNs(['mount', 'uts'], (b) => {
      b.config.hostname = 'conf-host';
      b.config.domainname = 'conf.example';
    });
    const r = await probe(b);
    expect(r.hostname).toBe('conf-host');
    expect(r.domainname).toBe('conf.example');
  });

  it('time namespace with timeOffsets shifts monotonic and boottime', async () => {
    const b = await bundleWithNs(['mount', 'pid', 'time'], (b) => {
      b.config.linux.timeOffsets = { monotonic: { secs: 86400, nanosecs: 0 }, boottime: { secs: 172800, nanosecs: 0 } };
    });
    const beforeMono = hostMonotonic();
    const beforeBoot = hostUptime();
    const r = await probe(b);
    expect(r.ns.time).not.toBe(hostNs('time'));
    expect(r.clock.monotonic - beforeMono).toBeGreaterThan(86400 - 1);
    expect(r.clock.monotonic - beforeMono).toBeLessThan(86400 + 20);
    expect(r.clock.boottime - beforeBoot).toBeGreaterThan(172800 - 1);
    expect(r.clock.boottime - beforeBoot).toBeLessThan(172800 + 20);
  });

  it('sysctl net.* in a new network namespace; the host value is unchanged', async () => {
    const hostVal = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
    const want = hostVal === '1' ? '0' : '1';
    const b = await bundleWithNs(['mount', 'network'], (b) => (b.config.linux.sysctl = { 'net.ipv4.ip_forward': want }));
    const r = await probe(b, ['--sysctl', 'net.ipv4.ip_forward']);
    expect(check(r, 'sysctl', 'net.ipv4.ip_forward').content).toBe(want);
    expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe(hostVal);
  });

  it('sysctl kernel.shmmax in a new ipc namespace; the host value is unchanged', async () => {
    const hostVal = readFileSync('/proc/sys/kernel/shmmax', 'utf8').trim();
    const b = await bundleWithNs(['mount', 'ipc'], (b) => (b.config.linux.sysctl = { 'kernel.shmmax': '123456789' }));
    const r = await probe(b, ['--sysctl', 'kernel.shmmax']);
    expect(check(r, 'sysctl', 'kernel.shmmax').content).toBe('123456789');
    expect(readFileSync('/proc/sys/kernel/shmmax', 'utf8').trim()).toBe(hostVal);
  });

  it('sysctl net.* without a network namespace is refused, naming the key; host unchanged', async () => {
    const hostVal = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
    const want = hostVal === '1' ? '0' : '1';
    const b = await bundleWithNs(['mount'], (b) => (b.config.linux.sysctl = { 'net.ipv4.ip_forward': want }));
    const r = await runContainer(b);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('net.ipv4.ip_forward');
    expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe(hostVal);
  });
});
