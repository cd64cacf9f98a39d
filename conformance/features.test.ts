import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  CAP_NAMES, installCleanup, makeBundle, probe, runContainer, skipName, skipNote, skipReason, tsrun, tsrunBin, hostNs,
} from './lib/index.js';

installCleanup();

interface Features {
  ociVersionMin: string;
  ociVersionMax: string;
  hooks: string[];
  mountOptions: string[];
  linux: {
    namespaces: string[];
    capabilities: string[];
    cgroup?: Record<string, boolean>;
    seccomp?: { enabled: boolean; actions?: string[]; operators?: string[]; archs?: string[] };
    apparmor?: { enabled: boolean };
    selinux?: { enabled: boolean };
    [k: string]: unknown;
  };
  annotations?: Record<string, string>;
}

const NS_FILE: Record<string, string> = {
  pid: 'pid', network: 'net', ipc: 'ipc', uts: 'uts', mount: 'mnt', cgroup: 'cgroup', user: 'user', time: 'time',
};

let cached: Features | undefined;
async function features(): Promise<Features> {
  if (cached) return cached;
  const r = await tsrun(['features']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  cached = JSON.parse(r.stdout) as Features;
  return cached;
}

/** Read once at collection so host-dependent tests can be skipped with the reason in their names. */
function featuresAtLoad(): Features | undefined {
  if (skipReason) return undefined;
  try {
    return JSON.parse(execFileSync(tsrunBin, ['features'], { encoding: 'utf8' })) as Features;
  } catch {
    return undefined;
  }
}
const seccompOff = featuresAtLoad()?.linux.seccomp?.enabled !== true;

describe.skipIf(!!skipReason)(`features${skipNote}`, () => {
  it('is valid JSON with the documented keys', async () => {
    const f = await features();
    expect(Object.keys(f)).toEqual(expect.arrayContaining(['ociVersionMin', 'ociVersionMax', 'hooks', 'mountOptions', 'linux']));
    expect(f.ociVersionMin).toMatch(/^1\.0\.\d+$/);
    expect(f.ociVersionMax).toBe('1.3.0');
    expect(Object.keys(f.linux)).toEqual(expect.arrayContaining(['namespaces', 'capabilities', 'seccomp', 'apparmor', 'selinux']));
    for (const v of Object.values(f.annotations ?? {})) expect(typeof v).toBe('string');
  });

  it('lists all six hooks', async () => {
    expect([...(await features()).hooks].sort()).toEqual(
      ['createContainer', 'createRuntime', 'poststart', 'poststop', 'prestart', 'startContainer'].sort(),
    );
  });

  it('mount options include the recursive attributes and propagation flags', async () => {
    const opts = (await features()).mountOptions;
    expect(opts).toEqual(expect.arrayContaining(['bind', 'rbind', 'ro', 'rw', 'rro', 'rrw', 'nosuid', 'rprivate', 'rslave', 'rshared']));
    expect(new Set(opts).size).toBe(opts.length);
  });

  it('capabilities are known names and cover every capability the host kernel has', async () => {
    const caps = (await features()).linux.capabilities;
    for (const c of caps) expect(CAP_NAMES).toContain(c);
    const lastCap = Number((await import('node:fs')).readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
    for (const c of CAP_NAMES.slice(0, lastCap + 1)) expect(caps).toContain(c);
  });

  it('every listed namespace can be created', async () => {
    const ns = (await features()).linux.namespaces;
    expect(ns).toEqual(expect.arrayContaining(['cgroup', 'ipc', 'mount', 'network', 'pid', 'user', 'uts']));
    for (const type of ns) {
      const b = await makeBundle();
      b.config.linux.namespaces = type === 'mount' ? [{ type: 'mount' }] : [{ type: 'mount' }, { type }];
      if (type !== 'uts') delete b.config.hostname;
      if (type === 'user') {
        const map = [{ containerID: 0, hostID: 100000, size: 65536 }];
        b.config.linux.uidMappings = map;
        b.config.linux.gidMappings = map;
        // proc, sysfs and mqueue can only be mounted by a user namespace that owns the pid,
        // network and ipc namespaces.
        b.config.linux.namespaces.push({ type: 'network' }, { type: 'pid' }, { type: 'ipc' });
      }
      const r = await probe(b);
      const f = NS_FILE[type]!;
      expect(r.ns[f], type).not.toBe(hostNs(f));
    }
  });

  it('seccomp.enabled is a boolean', async () => {
    expect(typeof (await features()).linux.seccomp?.enabled).toBe('boolean');
  });

  const seccompName = 'seccomp enabled: a filter takes effect (mkdir gets EPERM, Seccomp mode 2)';
  it.skipIf(seccompOff)(skipName(seccompOff, seccompName, 'features says seccomp is not enabled'), async () => {
    const f = await features();
    expect(f.linux.seccomp?.actions).toEqual(expect.arrayContaining(['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL']));
    const b = await makeBundle({ readonlyRoot: false });
    b.config.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
    };
    b.config.process.args = ['/bin/sh', '-c', 'mkdir /tmp/conf-dir; echo "rc=$?"; grep Seccomp: /proc/self/status'];
    const r = await runContainer(b);
    expect(r.stdout).toMatch(/rc=1/);
    expect(r.stderr + r.stdout).toMatch(/Operation not permitted/);
    expect(r.stdout).toMatch(/Seccomp:\s+2/);
  });
});
