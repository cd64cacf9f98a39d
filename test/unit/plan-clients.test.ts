import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildPlan, type PlanContext } from '../../src/spec/plan.js';
import { defaultSpec } from '../../src/spec/default-spec.js';
import { LINUX as L } from '../../src/spec/linux-constants.js';
import type { Spec } from '../../src/spec/types.js';

const refDir = new URL('../../../shared/reference/client-configs/', import.meta.url);
const haveRef = existsSync(refDir);
const skipReason = haveRef ? '' : ' (skipped: /work/shared/reference/client-configs absent)';

const hybridCtx: PlanContext = {
  bundle: '/run/bundle',
  noPivot: false,
  lastCap: 40,
  nofile: { soft: '1024', hard: '1048576' },
  cgroupMode: 'hybrid',
  cgroupV1Hierarchies: [
    { name: 'cpu', options: 'cpu' },
    { name: 'memory', options: 'memory' },
    { name: 'systemd', options: 'name=systemd' },
  ],
};

function load(name: string): Spec {
  return JSON.parse(readFileSync(new URL(name, refDir), 'utf8')) as Spec;
}

describe('client configs', () => {
  it.skipIf(!haveRef)(`docker run converts: binds, cgroup binds, caps, sysctl${skipReason}`, () => {
    const { init, spawn, warnings } = buildPlan(load('docker-run.json'), hybridCtx);
    expect(warnings).toEqual([]);
    expect(spawn.cloneFlags).toBe(L.CLONE_NEWNS | L.CLONE_NEWNET | L.CLONE_NEWUTS | L.CLONE_NEWPID | L.CLONE_NEWIPC);
    expect(spawn.userNamespace).toBe(false);
    const byDst = new Map(init.mounts.map((m) => [m.destination, m]));
    expect(byDst.get('/etc/hosts')).toMatchObject({ type: '', flags: L.MS_BIND | L.MS_REC, remountFlags: 0, propagation: [L.MS_PRIVATE | L.MS_REC], createAs: 'auto' });
    expect(byDst.get('/etc/hosts')?.source).toMatch(/^\/var\/lib\/clients\/docker\/.*\/hosts$/);
    expect(byDst.get('/dev')).toMatchObject({ type: 'tmpfs', flags: L.MS_NOSUID | L.MS_STRICTATIME, data: 'mode=755,size=65536k' });
    expect(byDst.get('/dev/shm')).toMatchObject({ source: 'shm', data: 'mode=1777,size=67108864' });
    // No cgroup namespace on this hybrid host: each hierarchy is bound read-only from the host.
    expect(byDst.get('/sys/fs/cgroup/memory')).toMatchObject({ source: '/sys/fs/cgroup/memory', remountFlags: L.MS_RDONLY | L.MS_NOSUID | L.MS_NOEXEC | L.MS_NODEV });
    const cg = init.mounts.filter((m) => m.destination.startsWith('/sys/fs/cgroup'));
    expect(cg.map((m) => m.destination)).toEqual(['/sys/fs/cgroup', '/sys/fs/cgroup/cpu', '/sys/fs/cgroup/memory', '/sys/fs/cgroup/systemd', '/sys/fs/cgroup']);
    expect(init.process.capabilities?.bounding).toHaveLength(14);
    expect(init.process.oomScoreAdj).toBe(0);
    expect(init.process.additionalGids).toEqual([0]);
    expect(init.process.rlimits).toEqual([{ resource: L.RLIMIT_NOFILE, soft: '1024', hard: '1048576' }]);
    expect(init.sysctl).toContainEqual({ key: 'net.ipv4.ping_group_range', value: '0 2147483647' });
    expect(init.hostname).toBe('8a7c8c0c52fd');
    expect(init.devSymlinks).toBe(true);
    expect(init.devices.map((d) => d.path)).toEqual(['/dev/null', '/dev/random', '/dev/full', '/dev/tty', '/dev/zero', '/dev/urandom']);
  });

  it.skipIf(!haveRef)(`podman run converts: bind /dev/shm remounted nosuid,noexec,nodev; umask; NPROC${skipReason}`, () => {
    const { init } = buildPlan(load('podman-run.json'), { ...hybridCtx, cgroupMode: 'v2' });
    const shm = init.mounts.find((m) => m.destination === '/dev/shm');
    expect(shm).toMatchObject({ type: '', flags: L.MS_BIND | L.MS_NOSUID | L.MS_NOEXEC | L.MS_NODEV, remountFlags: L.MS_NOSUID | L.MS_NOEXEC | L.MS_NODEV });
    expect(init.mounts.find((m) => m.destination === '/sys/fs/cgroup')).toMatchObject({ type: 'cgroup2', propagation: [L.MS_PRIVATE | L.MS_REC] });
    expect(init.process.umask).toBe(18);
    expect(init.process.rlimits).toEqual([
      { resource: L.RLIMIT_NOFILE, soft: '20000', hard: '20000' },
      { resource: L.RLIMIT_NPROC, soft: '32768', hard: '32768' },
    ]);
    expect(init.readonlyPaths).toContain('/proc/asound');
  });

  it.skipIf(!haveRef)(`ctr run converts: relative rootfs, terminal, nnp${skipReason}`, () => {
    const { init } = buildPlan(load('containerd-ctr-run.json'), hybridCtx);
    expect(init.rootfs).toBe('/run/bundle/rootfs');
    expect(init.process).toMatchObject({ terminal: true, noNewPrivileges: true, args: ['sh', '-c', '[ -t 0 ] && [ -t 1 ] && echo tty-ok'] });
    expect(init.mounts.map((m) => m.destination)).toEqual(['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/run']);
  });
});

describe('default spec', () => {
  it('matches what runc spec writes (key fields)', () => {
    const s = defaultSpec({ rootless: false });
    expect(s.ociVersion).toBe('1.3.0');
    expect(s.process).toMatchObject({ terminal: true, args: ['sh'], cwd: '/', noNewPrivileges: true, user: { uid: 0, gid: 0 } });
    expect(s.process?.capabilities?.bounding).toEqual(['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']);
    expect(s.process?.rlimits).toEqual([{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }]);
    expect(s.root).toEqual({ path: 'rootfs', readonly: true });
    expect(s.mounts?.map((m) => m.destination)).toEqual(['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup']);
    expect(s.linux?.namespaces?.map((n) => n.type)).toEqual(['pid', 'network', 'ipc', 'uts', 'mount']);
    expect(defaultSpec({ rootless: false, cgroupNamespace: true }).linux?.namespaces?.map((n) => n.type)).toContain('cgroup');
  });

  it('rootless: user namespace mapping the caller, no network namespace, /sys bound, no uid=/gid=', () => {
    const s = defaultSpec({ rootless: true, uid: 1000, gid: 1001 });
    expect(s.linux?.namespaces?.map((n) => n.type)).toEqual(['pid', 'ipc', 'uts', 'mount', 'user']);
    expect(s.linux?.uidMappings).toEqual([{ containerID: 0, hostID: 1000, size: 1 }]);
    expect(s.linux?.gidMappings).toEqual([{ containerID: 0, hostID: 1001, size: 1 }]);
    expect(s.linux?.resources).toBeUndefined();
    expect(s.mounts?.find((m) => m.destination === '/sys')).toEqual({ destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] });
    expect(s.mounts?.find((m) => m.destination === '/dev/pts')?.options).not.toContain('gid=5');
  });

  it('each call returns a fresh object', () => {
    const a = defaultSpec({ rootless: false });
    a.mounts?.push({ destination: '/x' });
    a.process?.capabilities?.bounding?.push('CAP_SYS_ADMIN');
    expect(defaultSpec({ rootless: false }).mounts).toHaveLength(7);
    expect(defaultSpec({ rootless: false }).process?.capabilities?.bounding).toHaveLength(3);
  });

  it.each([false, true])('round-trips through JSON and buildPlan (rootless %s)', (rootless) => {
    const s = JSON.parse(JSON.stringify(defaultSpec({ rootless, uid: 1000, gid: 1000 }))) as Spec;
    const { init, spawn, warnings } = buildPlan(s, { ...hybridCtx, cgroupMode: 'v2' });
    expect(warnings).toEqual([]);
    expect(init.rootfs).toBe('/run/bundle/rootfs');
    expect(init.readonlyRootfs).toBe(true);
    expect(init.process.capabilities).toEqual({ bounding: [29, 5, 10], effective: [29, 5, 10], inheritable: [], permitted: [29, 5, 10], ambient: [] });
    expect(init.process.rlimits).toEqual([{ resource: L.RLIMIT_NOFILE, soft: '1024', hard: '1024' }]);
    expect(init.hostname).toBe('runc');
    expect(spawn.userNamespace).toBe(rootless);
    expect(init.bindDevices).toBe(rootless);
    if (rootless) {
      expect(spawn.uidMappings).toEqual([{ containerID: 0, hostID: 1000, size: 1 }]);
      expect(init.mounts.find((m) => m.destination === '/sys')).toMatchObject({ type: '', source: '/sys', flags: L.MS_BIND | L.MS_REC | L.MS_NOSUID | L.MS_NOEXEC | L.MS_NODEV | L.MS_RDONLY });
    }
  });
});
