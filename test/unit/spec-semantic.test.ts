import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Spec } from '../../src/spec/types.js';
import { processProblems, semanticProblems } from '../../src/spec/validate.js';

/** A config that passes every rule; each case changes one thing. */
function base(): Spec {
  return {
    ociVersion: '1.3.0',
    root: { path: 'rootfs' },
    process: { cwd: '/', args: ['sh'], user: { uid: 0, gid: 0 } },
    linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'network' }] },
  };
}

function check(edit: (s: Spec) => void): string[] {
  const s = base();
  edit(s);
  return semanticProblems(s);
}

const linux = (s: Spec) => s.linux!;
const proc = (s: Spec) => s.process!;
const withoutNs = (s: Spec, type: string) => {
  linux(s).namespaces = linux(s).namespaces!.filter((n) => n.type !== type);
};

describe('semanticProblems', () => {
  it('base config has no problems', () => {
    expect(semanticProblems(base())).toEqual([]);
  });

  const example = fileURLToPath(new URL('../../../shared/reference/runtime-spec-v1.3.0-schema/test/config/good/spec-example.json', import.meta.url));
  it.skipIf(!existsSync(example))("the spec's full Linux example passes every rule but the version (skipped: ../shared/reference absent)", () => {
    const spec = JSON.parse(readFileSync(example, 'utf8')) as Spec;
    expect(semanticProblems(spec)).toEqual([`/ociVersion: major version 0 is not supported (tsrun implements runtime-spec 1.x)`]);
    spec.ociVersion = '1.3.0';
    expect(semanticProblems(spec)).toEqual([]);
  });

  describe('ociVersion', () => {
    it.each(['1.0.0', '1.3.0', '1.0.2-dev', '1.2.0+build.1'])('accepts %s', (v) => {
      expect(check((s) => (s.ociVersion = v))).toEqual([]);
    });
    it('refuses major 2', () => {
      expect(check((s) => (s.ociVersion = '2.0.0'))).toEqual(['/ociVersion: major version 2 is not supported (tsrun implements runtime-spec 1.x)']);
    });
    it('refuses non-SemVer', () => {
      expect(check((s) => (s.ociVersion = '1.0'))).toEqual(['/ociVersion: must be a SemVer version such as "1.3.0", got "1.0"']);
    });
  });

  describe('root and process', () => {
    it('root is required on Linux', () => {
      expect(check((s) => delete s.root)).toEqual(['/root: is required on Linux']);
    });
    it('root.path must not be empty', () => {
      expect(check((s) => (s.root!.path = ''))).toContain('/root/path: must not be empty');
    });
    it('process is required for create', () => {
      expect(check((s) => delete s.process)).toEqual(['/process: is required to create a container']);
    });
    it('process.args is required and non-empty', () => {
      expect(check((s) => delete proc(s).args)).toEqual(['/process/args: is required on Linux']);
      expect(check((s) => (proc(s).args = []))).toEqual(['/process/args: must contain at least 1 item']);
    });
    it('process.cwd must be absolute', () => {
      expect(check((s) => (proc(s).cwd = 'tmp'))).toEqual(['/process/cwd: must be an absolute path, got "tmp"']);
    });
    it('oomScoreAdj within -1000..1000', () => {
      expect(check((s) => (proc(s).oomScoreAdj = -1000))).toEqual([]);
      expect(check((s) => (proc(s).oomScoreAdj = 1001))).toEqual(['/process/oomScoreAdj: must be between -1000 and 1000, got 1001']);
    });
    it('processProblems checks a process.json on its own', () => {
      expect(processProblems({ cwd: 'x', args: ['a'] })).toEqual(['/cwd: must be an absolute path, got "x"']);
      expect(processProblems({ cwd: '/', args: ['a'] })).toEqual([]);
      expect(processProblems({ cwd: '/', args: ['a', 'b\0c'] })).toEqual(['/args/1: must not contain a NUL byte']);
    });
  });

  it('a NUL byte in any string or key but the annotations is named (a C string would be cut short there)', () => {
    expect(check((s) => {
      proc(s).args = ['echo', 'x\0y'];
      proc(s).env = ['A=b\0c'];
      linux(s).maskedPaths = ['/x\0y'];
      linux(s).sysctl = { 'net.ipv4.a/b~\0': 'v', 'net.ipv4.ip_forward': '1\0' };
      s.hostname = 'a\0b';
      s.annotations = { 'k\0': 'v\0' };
    })).toEqual([
      '/process/args/1: must not contain a NUL byte',
      '/process/env/0: must not contain a NUL byte',
      '/linux/maskedPaths/0: must not contain a NUL byte',
      '/linux/sysctl/net.ipv4.a~1b~0\\u0000: the key must not contain a NUL byte',
      '/linux/sysctl/net.ipv4.ip_forward: must not contain a NUL byte',
      '/hostname: must not contain a NUL byte',
    ]);
  });

  describe('mounts', () => {
    it('relative destinations are allowed (config.md: relative to "/"), empty is not', () => {
      expect(check((s) => (s.mounts = [{ destination: 'proc', type: 'proc', source: 'proc' }]))).toEqual([]);
      expect(check((s) => (s.mounts = [{ destination: '' }]))).toEqual(['/mounts/0/destination: must not be empty']);
    });
    it('idmapped mounts need both mappings, sane ones', () => {
      const map = [{ containerID: 0, hostID: 1000, size: 10 }];
      expect(check((s) => (s.mounts = [{ destination: '/a', uidMappings: map, gidMappings: map }]))).toEqual([]);
      expect(check((s) => (s.mounts = [{ destination: '/a', uidMappings: map }]))).toEqual(['/mounts/0: uidMappings and gidMappings must be given together']);
      expect(check((s) => (s.mounts = [{ destination: '/a', uidMappings: map, gidMappings: [{ containerID: 0, hostID: 0, size: 0 }] }]))).toEqual([
        '/mounts/0/gidMappings/0/size: must be at least 1',
      ]);
    });
  });

  describe('namespaces', () => {
    it('refuses duplicate types', () => {
      expect(check((s) => linux(s).namespaces!.push({ type: 'pid' }))).toEqual([
        '/linux/namespaces/5/type: duplicate namespace "pid" (also at /linux/namespaces/1)',
      ]);
    });
    it('namespace paths must be absolute', () => {
      expect(check((s) => (linux(s).namespaces![1]!.path = '/proc/1/ns/pid'))).toEqual([]);
      expect(check((s) => (linux(s).namespaces![1]!.path = 'proc/1/ns/pid'))).toEqual(['/linux/namespaces/1/path: must be an absolute path, got "proc/1/ns/pid"']);
    });
    it('a mount namespace is required unless root is "/"', () => {
      expect(check((s) => withoutNs(s, 'mount'))).toEqual(['/linux/namespaces: a mount namespace is required (only a root.path of "/" can run without one)']);
      expect(check((s) => (withoutNs(s, 'mount'), (s.root!.path = '/')))).toEqual([]);
    });
  });

  describe('user namespace and mappings', () => {
    const map = [{ containerID: 0, hostID: 100000, size: 65536 }];
    it('new user namespace with both mappings is fine', () => {
      expect(check((s) => (linux(s).namespaces!.push({ type: 'user' }), (linux(s).uidMappings = map), (linux(s).gidMappings = map)))).toEqual([]);
    });
    it('new user namespace without mappings is refused', () => {
      expect(check((s) => linux(s).namespaces!.push({ type: 'user' }))).toEqual([
        '/linux/uidMappings: is required with a new user namespace',
        '/linux/gidMappings: is required with a new user namespace',
      ]);
    });
    it('joining a user namespace by path needs no mappings', () => {
      expect(check((s) => linux(s).namespaces!.push({ type: 'user', path: '/proc/1/ns/user' }))).toEqual([]);
    });
    it('mappings without a user namespace are refused', () => {
      expect(check((s) => (linux(s).uidMappings = map))).toEqual(['/linux/uidMappings: needs a user namespace in /linux/namespaces']);
      expect(check((s) => (linux(s).gidMappings = map))).toEqual(['/linux/gidMappings: needs a user namespace in /linux/namespaces']);
    });
    it('overlapping and overflowing ranges are refused', () => {
      const bad = [
        { containerID: 0, hostID: 1000, size: 10 },
        { containerID: 5, hostID: 2000, size: 10 },
        { containerID: 100, hostID: 4294967295, size: 2 },
      ];
      expect(check((s) => (linux(s).namespaces!.push({ type: 'user' }), (linux(s).uidMappings = bad), (linux(s).gidMappings = map)))).toEqual([
        '/linux/uidMappings/1: containerID range overlaps /linux/uidMappings/0',
        '/linux/uidMappings/2: hostID + size exceeds the 32-bit ID space',
      ]);
    });
    it('at most 340 lines', () => {
      const many = Array.from({ length: 341 }, (_, i) => ({ containerID: i, hostID: 1000 + i, size: 1 }));
      expect(check((s) => (linux(s).namespaces!.push({ type: 'user' }), (linux(s).uidMappings = many), (linux(s).gidMappings = map)))).toEqual([
        '/linux/uidMappings: at most 340 mappings are allowed, got 341',
      ]);
    });
  });

  describe('time namespace', () => {
    const offsets = { monotonic: { secs: 10, nanosecs: 0 } };
    it('offsets with a new time namespace are fine', () => {
      expect(check((s) => (linux(s).namespaces!.push({ type: 'time' }), (linux(s).timeOffsets = offsets)))).toEqual([]);
    });
    it('offsets without a time namespace are refused', () => {
      expect(check((s) => (linux(s).timeOffsets = offsets))).toEqual(['/linux/timeOffsets: needs a time namespace in /linux/namespaces']);
    });
    it('offsets when joining a time namespace are refused', () => {
      expect(check((s) => (linux(s).namespaces!.push({ type: 'time', path: '/proc/1/ns/time' }), (linux(s).timeOffsets = offsets)))).toEqual([
        '/linux/timeOffsets: cannot be set when joining an existing time namespace',
      ]);
    });
    it('nanosecs below one second', () => {
      expect(check((s) => (linux(s).namespaces!.push({ type: 'time' }), (linux(s).timeOffsets = { boottime: { nanosecs: 1e9 } })))).toEqual([
        '/linux/timeOffsets/boottime/nanosecs: must be below 1000000000, got 1000000000',
      ]);
    });
  });

  describe('devices', () => {
    it('c/b/u need major and minor, p does not', () => {
      expect(check((s) => (linux(s).devices = [{ type: 'p', path: '/dev/fifo' }, { type: 'c', path: '/dev/null', major: 1, minor: 3 }]))).toEqual([]);
      expect(check((s) => (linux(s).devices = [{ type: 'b', path: '/dev/sda' }]))).toEqual([
        '/linux/devices/0/major: is required for type "b"',
        '/linux/devices/0/minor: is required for type "b"',
      ]);
      expect(check((s) => (linux(s).devices = [{ type: 'u', path: '/dev/x', major: 1 }]))).toEqual(['/linux/devices/0/minor: is required for type "u"']);
    });
    it('device path must be absolute', () => {
      expect(check((s) => (linux(s).devices = [{ type: 'p', path: 'dev/fifo' }]))).toEqual(['/linux/devices/0/path: must be an absolute path, got "dev/fifo"']);
    });
    it('cgroup device rules: type a/b/c, access of r, w, m', () => {
      expect(check((s) => (linux(s).resources = { devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }] }))).toEqual([]);
      expect(check((s) => (linux(s).resources = { devices: [{ allow: true, type: 'p', access: 'rx' }] }))).toEqual([
        '/linux/resources/devices/0/type: must be one of a, b, c, got "p"',
        '/linux/resources/devices/0/access: must combine r, w and m, got "rx"',
      ]);
    });
  });

  describe('sysctl', () => {
    it.each([
      ['net.ipv4.ip_forward', 'network'],
      ['net/ipv4/ip_forward', 'network'],
      ['kernel.shmmax', 'ipc'],
      ['kernel.msgmnb', 'ipc'],
      ['kernel.sem', 'ipc'],
      ['fs.mqueue.queues_max', 'ipc'],
      ['kernel.domainname', 'uts'],
    ])('%s is allowed with a %s namespace and refused without', (key, ns) => {
      expect(check((s) => (linux(s).sysctl = { [key]: '1' }))).toEqual([]);
      expect(check((s) => ((linux(s).sysctl = { [key]: '1' }), withoutNs(s, ns)))).toEqual([
        `/linux/sysctl/${key.replace(/\//g, '~1')}: needs a ${ns} namespace in /linux/namespaces`,
      ]);
    });
    it('kernel.hostname is refused in favour of /hostname (as runc)', () => {
      expect(check((s) => (linux(s).sysctl = { 'kernel.hostname': 'h' }))).toEqual(['/linux/sysctl/kernel.hostname: is not allowed: set /hostname instead']);
    });
    it.each(['vm.swappiness', 'kernel.pid_max', 'fs.file-max'])('%s is refused (not namespaced)', (key) => {
      expect(check((s) => (linux(s).sysctl = { [key]: '1' }))).toEqual([
        `/linux/sysctl/${key}: is not allowed: not a namespaced sysctl (net.*, fs.mqueue.*, kernel.shm*/msg*/sem, kernel.domainname)`,
      ]);
    });
  });

  describe('hostname and domainname', () => {
    it('need a uts namespace', () => {
      expect(check((s) => ((s.hostname = 'h'), (s.domainname = 'd')))).toEqual([]);
      expect(check((s) => ((s.hostname = 'h'), (s.domainname = 'd'), withoutNs(s, 'uts')))).toEqual([
        '/hostname: cannot be set without a uts namespace in /linux/namespaces',
        '/domainname: cannot be set without a uts namespace in /linux/namespaces',
      ]);
    });
    it('empty hostname without uts is fine', () => {
      expect(check((s) => ((s.hostname = ''), withoutNs(s, 'uts')))).toEqual([]);
    });
  });

  describe('rlimits', () => {
    it('known, unique, soft <= hard', () => {
      expect(check((s) => (proc(s).rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 }]))).toEqual([]);
      expect(
        check(
          (s) =>
            (proc(s).rlimits = [
              { type: 'RLIMIT_NOFILE', soft: 10, hard: 5 },
              { type: 'RLIMIT_BOGUS', soft: 1, hard: 1 },
              { type: 'RLIMIT_NOFILE', soft: 1, hard: 1 },
            ]),
        ),
      ).toEqual([
        '/process/rlimits/0/soft: must not exceed hard (10 > 5)',
        '/process/rlimits/1/type: unknown resource "RLIMIT_BOGUS" (see getrlimit(2))',
        '/process/rlimits/2/type: duplicate rlimit RLIMIT_NOFILE (also at /process/rlimits/0)',
      ]);
    });
  });

  describe('capabilities', () => {
    it('names must look like CAP_*', () => {
      expect(check((s) => (proc(s).capabilities = { bounding: ['CAP_CHOWN', 'CAP_NOT_ON_THIS_KERNEL'] }))).toEqual([]);
      expect(check((s) => (proc(s).capabilities = { ambient: ['chown'] }))).toEqual(['/process/capabilities/ambient/0: must be a capability name like CAP_CHOWN, got "chown"']);
    });
  });

  describe('scheduler', () => {
    it('nice in -20..19', () => {
      expect(check((s) => (proc(s).scheduler = { policy: 'SCHED_OTHER', nice: -20 }))).toEqual([]);
      expect(check((s) => (proc(s).scheduler = { policy: 'SCHED_OTHER', nice: 20 }))).toEqual(['/process/scheduler/nice: must be between -20 and 19, got 20']);
    });
    it('priority 1..99 for FIFO/RR, 0 otherwise', () => {
      expect(check((s) => (proc(s).scheduler = { policy: 'SCHED_FIFO', priority: 99 }))).toEqual([]);
      expect(check((s) => (proc(s).scheduler = { policy: 'SCHED_RR', priority: 0 }))).toEqual(['/process/scheduler/priority: must be between 1 and 99 for SCHED_RR, got 0']);
      expect(check((s) => (proc(s).scheduler = { policy: 'SCHED_BATCH', priority: 5 }))).toEqual([
        '/process/scheduler/priority: must be 0 for SCHED_BATCH (only SCHED_FIFO and SCHED_RR take a priority)',
      ]);
    });
    it('deadline parameters only for SCHED_DEADLINE, ordered', () => {
      expect(check((s) => (proc(s).scheduler = { policy: 'SCHED_DEADLINE', runtime: 10, deadline: 20, period: 30 }))).toEqual([]);
      expect(check((s) => (proc(s).scheduler = { policy: 'SCHED_DEADLINE', runtime: 30, deadline: 20, period: 10 }))).toEqual([
        '/process/scheduler/runtime: must not exceed deadline (30 > 20)',
        '/process/scheduler/deadline: must not exceed period (20 > 10)',
      ]);
      expect(check((s) => (proc(s).scheduler = { policy: 'SCHED_DEADLINE' }))).toEqual([
        '/process/scheduler/runtime: is required for SCHED_DEADLINE',
        '/process/scheduler/deadline: is required for SCHED_DEADLINE',
      ]);
      expect(check((s) => (proc(s).scheduler = { policy: 'SCHED_OTHER', runtime: 5 }))).toEqual([
        '/process/scheduler: runtime, deadline and period only apply to SCHED_DEADLINE',
      ]);
    });
  });

  describe('ioPriority', () => {
    it('priority 0..7', () => {
      expect(check((s) => (proc(s).ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 7 }))).toEqual([]);
      expect(check((s) => (proc(s).ioPriority = { class: 'IOPRIO_CLASS_RT', priority: 8 }))).toEqual(['/process/ioPriority/priority: must be between 0 and 7, got 8']);
    });
  });

  describe('execCPUAffinity', () => {
    it.each(['0', '0-3,7', '0-3, 7', ''])('accepts %j', (list) => {
      expect(check((s) => (proc(s).execCPUAffinity = { initial: list, final: list }))).toEqual([]);
    });
    it.each(['0-', '1,,2', '-3', '0--2', ' , '])('refuses %j', (list) => {
      expect(check((s) => (proc(s).execCPUAffinity = { final: list }))).toEqual([`/process/execCPUAffinity/final: must be a CPU list like "0-3,7", got ${JSON.stringify(list)}`]);
    });
    it('refuses descending ranges', () => {
      expect(check((s) => (proc(s).execCPUAffinity = { initial: '3-1' }))).toEqual(['/process/execCPUAffinity/initial: range 3-1 is descending in "3-1"']);
    });
  });

  describe('personality', () => {
    it('domain is required, no flags are defined', () => {
      expect(check((s) => (linux(s).personality = { domain: 'LINUX32' }))).toEqual([]);
      expect(check((s) => (linux(s).personality = { flags: ['X'] } as never))).toEqual([
        '/linux/personality/domain: is required (LINUX or LINUX32)',
        '/linux/personality/flags: no personality flags are supported',
      ]);
    });
  });

  describe('hooks', () => {
    it('paths must be absolute', () => {
      expect(check((s) => (s.hooks = { prestart: [{ path: '/bin/true' }], poststop: [{ path: '/bin/true' }, { path: 'true' }] }))).toEqual([
        '/hooks/poststop/1/path: must be an absolute path, got "true"',
      ]);
    });
  });

  describe('paths, maps and devices', () => {
    it('masked and readonly paths must be absolute', () => {
      expect(check((s) => ((linux(s).maskedPaths = ['/proc/kcore', 'sys']), (linux(s).readonlyPaths = ['proc'])))).toEqual([
        '/linux/maskedPaths/1: must be an absolute path, got "sys"',
        '/linux/readonlyPaths/0: must be an absolute path, got "proc"',
      ]);
    });
    it('empty annotation keys are refused', () => {
      expect(check((s) => (s.annotations = { '': 'x' }))).toEqual(['/annotations: keys must not be empty']);
    });
    it('netDevices need a network namespace and valid names', () => {
      expect(check((s) => (linux(s).netDevices = { eth1: { name: 'ctr0' } }))).toEqual([]);
      expect(check((s) => ((linux(s).netDevices = { eth1: {} }), withoutNs(s, 'network')))).toEqual(['/linux/netDevices: needs a network namespace in /linux/namespaces']);
      expect(check((s) => (linux(s).netDevices = { 'a/b': { name: 'a-very-long-interface-name' } }))).toEqual([
        '/linux/netDevices/a~1b: "a/b" is not a valid interface name',
        '/linux/netDevices/a~1b/name: "a-very-long-interface-name" is not a valid interface name',
      ]);
    });
    it('memoryPolicy needs a mode and a node list', () => {
      expect(check((s) => (linux(s).memoryPolicy = { mode: 'MPOL_BIND', nodes: '0-1' }))).toEqual([]);
      expect(check((s) => (linux(s).memoryPolicy = { nodes: 'x' } as never))).toEqual([
        '/linux/memoryPolicy/mode: is required',
        '/linux/memoryPolicy/nodes: must be a CPU list like "0-3,7", got "x"',
      ]);
    });
    it('SCMP_ACT_NOTIFY needs a listenerPath', () => {
      const syscalls = [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' as const }];
      expect(check((s) => (linux(s).seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls, listenerPath: '/run/l.sock' }))).toEqual([]);
      expect(check((s) => (linux(s).seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls }))).toEqual([
        '/linux/seccomp/listenerPath: is required when SCMP_ACT_NOTIFY is used',
      ]);
    });
  });
});

describe('semanticProblems ignores what it does not know', () => {
  it('unknown hook stages (config.md "Extensibility")', () => {
    const s = base() as Spec & { hooks: Record<string, unknown> };
    s.hooks = { futureStage: 'not-a-list', prestart: [{ path: '/bin/true' }] };
    expect(semanticProblems(s)).toEqual([]);
  });
});
