import { describe, expect, it } from 'vitest';
import { buildPlan, parseCpuList, type PlanContext } from '../../src/spec/plan.js';
import { LINUX as L, RLIM_INFINITY } from '../../src/spec/linux-constants.js';
import { ConfigError } from '../../src/errors.js';
import type { Spec } from '../../src/spec/types.js';

const ctx: PlanContext = { bundle: '/bundles/b1', noPivot: false, lastCap: 40, nofile: { soft: '1024', hard: '524288' }, cgroupMode: 'v2' };

function spec(extra: Partial<Spec> = {}): Spec {
  return { ociVersion: '1.3.0', root: { path: 'rootfs' }, process: { args: ['sh'], cwd: '/' }, ...extra };
}

function problems(s: Spec, c: PlanContext = ctx): string[] {
  try {
    buildPlan(s, c);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('buildPlan accepted the config');
}

describe('namespaces', () => {
  it('new namespaces go to clone3, cgroup and time to oci-init', () => {
    const types = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'] as const;
    const { init, spawn } = buildPlan(spec({ linux: { namespaces: types.map((type) => ({ type })), uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }], gidMappings: [{ containerID: 0, hostID: 200000, size: 10 }] } }), ctx);
    expect(spawn).toEqual({
      cloneFlags: L.CLONE_NEWPID | L.CLONE_NEWNET | L.CLONE_NEWNS | L.CLONE_NEWIPC | L.CLONE_NEWUTS | L.CLONE_NEWUSER,
      unshareFlags: 0,
      joinInChild: [],
      pidNamespacePath: null,
      userNamespace: true,
      uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      gidMappings: [{ containerID: 0, hostID: 200000, size: 10 }],
    });
    expect(init.lateUnshareFlags).toBe(L.CLONE_NEWCGROUP | L.CLONE_NEWTIME);
    expect(init.joinNamespaces).toEqual([]);
    expect(init.mountNamespace).toBe(true);
    expect(init.bindDevices).toBe(true);
  });

  it('joined namespaces: pid to the spawn plan, the rest in runc order for oci-init', () => {
    const { init, spawn } = buildPlan(
      spec({
        linux: {
          namespaces: [
            { type: 'time', path: '/proc/9/ns/time' },
            { type: 'mount', path: '/proc/9/ns/mnt' },
            { type: 'pid', path: '/proc/9/ns/pid' },
            { type: 'network', path: '/run/netns/x' },
            { type: 'cgroup', path: '/proc/9/ns/cgroup' },
            { type: 'uts', path: '/proc/9/ns/uts' },
            { type: 'ipc', path: '/proc/9/ns/ipc' },
          ],
        },
      }),
      ctx,
    );
    expect(spawn).toMatchObject({ cloneFlags: 0, unshareFlags: 0, joinInChild: [], pidNamespacePath: '/proc/9/ns/pid', userNamespace: false, uidMappings: [] });
    expect(init.joinNamespaces).toEqual([
      { path: '/proc/9/ns/ipc', nstype: L.CLONE_NEWIPC },
      { path: '/proc/9/ns/uts', nstype: L.CLONE_NEWUTS },
      { path: '/run/netns/x', nstype: L.CLONE_NEWNET },
      { path: '/proc/9/ns/mnt', nstype: L.CLONE_NEWNS },
      { path: '/proc/9/ns/cgroup', nstype: L.CLONE_NEWCGROUP },
      { path: '/proc/9/ns/time', nstype: L.CLONE_NEWTIME },
    ]);
    expect(init.mountNamespace).toBe(true);
    expect(init.lateUnshareFlags).toBe(0);
  });

  it('user joined by path: joined in the child, other new namespaces (pid too) unshared after it', () => {
    const { init, spawn } = buildPlan(
      spec({ linux: { namespaces: [{ type: 'user', path: '/proc/7/ns/user' }, { type: 'pid' }, { type: 'mount' }, { type: 'network' }, { type: 'cgroup' }] } }),
      ctx,
    );
    expect(spawn).toMatchObject({
      cloneFlags: 0,
      unshareFlags: L.CLONE_NEWPID | L.CLONE_NEWNS | L.CLONE_NEWNET,
      joinInChild: [{ path: '/proc/7/ns/user', nstype: L.CLONE_NEWUSER }],
      userNamespace: false,
      uidMappings: [],
    });
    expect(init.lateUnshareFlags).toBe(L.CLONE_NEWCGROUP);
    expect(init.bindDevices).toBe(true);
  });

  it('no mount namespace, no user namespace', () => {
    const { init, spawn } = buildPlan(spec({ linux: { namespaces: [{ type: 'pid' }] } }), ctx);
    expect(init.mountNamespace).toBe(false);
    expect(init.bindDevices).toBe(false);
    expect(spawn.cloneFlags).toBe(L.CLONE_NEWPID);
  });

  it('time offsets are carried for a new time namespace and refused otherwise', () => {
    const { init } = buildPlan(spec({ linux: { namespaces: [{ type: 'time' }], timeOffsets: { boottime: { secs: 5 }, monotonic: { secs: -3, nanosecs: 7 } } } }), ctx);
    expect(init.timeOffsets).toEqual([
      { clock: 'monotonic', secs: -3, nanosecs: 7 },
      { clock: 'boottime', secs: 5, nanosecs: 0 },
    ]);
    expect(problems(spec({ linux: { timeOffsets: { boottime: { secs: 5 } } } }))).toEqual([expect.stringMatching(/^\/linux\/timeOffsets: /)]);
  });

  it('duplicated, unknown and relative-path namespaces are errors naming the entry', () => {
    const bad = spec({ linux: { namespaces: [{ type: 'pid' }, { type: 'pid' }, { type: 'bogus' as 'pid' }, { type: 'network', path: 'ns/net' }] } });
    expect(problems(bad)).toEqual([
      '/linux/namespaces/1: duplicated namespace "pid"',
      '/linux/namespaces/2/type: unknown namespace "bogus"',
      '/linux/namespaces/3/path: must be an absolute path',
    ]);
  });
});

describe('rootfs and paths', () => {
  it('resolves root.path against the bundle and normalises container paths', () => {
    const { init } = buildPlan(
      spec({
        root: { path: 'rootfs/', readonly: true },
        process: { args: ['sh'], cwd: 'work/../tmp/' },
        linux: { maskedPaths: ['/proc//kcore', 'proc/keys/'], readonlyPaths: ['/proc/sys/.'], sysctl: { 'net.ipv4.ip_forward': '1', 'kernel.msgmax': '8192' } },
        hostname: 'h',
        domainname: '',
      }),
      ctx,
    );
    expect(init.rootfs).toBe('/bundles/b1/rootfs');
    expect(init.readonlyRootfs).toBe(true);
    expect(init.process.cwd).toBe('/tmp');
    expect(init.maskedPaths).toEqual(['/proc/kcore', '/proc/keys']);
    expect(init.readonlyPaths).toEqual(['/proc/sys']);
    expect(init.sysctl).toEqual([
      { key: 'net.ipv4.ip_forward', value: '1' },
      { key: 'kernel.msgmax', value: '8192' },
    ]);
    expect([init.hostname, init.domainname]).toEqual(['h', null]);
    expect(buildPlan(spec({ root: { path: '/abs/root' } }), ctx).init.rootfs).toBe('/abs/root');
  });

  it('rootfsPropagation: rslave by default, names mapped, private refused with --no-pivot', () => {
    expect(buildPlan(spec(), ctx).init.rootfsPropagation).toBe(L.MS_REC | L.MS_SLAVE);
    const p = (name: string, noPivot = false): number => buildPlan(spec({ linux: { rootfsPropagation: name as 'shared' } }), { ...ctx, noPivot }).init.rootfsPropagation;
    expect(p('shared')).toBe(L.MS_SHARED);
    expect(p('slave')).toBe(L.MS_SLAVE);
    expect(p('private')).toBe(L.MS_PRIVATE);
    expect(p('unbindable')).toBe(L.MS_UNBINDABLE);
    expect(p('rshared')).toBe(L.MS_SHARED | L.MS_REC);
    expect(p('shared', true)).toBe(L.MS_SHARED);
    expect(problems(spec({ linux: { rootfsPropagation: 'private' } }), { ...ctx, noPivot: true })).toEqual([expect.stringMatching(/^\/linux\/rootfsPropagation: .*--no-pivot/)]);
    expect(problems(spec({ linux: { rootfsPropagation: 'weird' as 'shared' } }))).toEqual(['/linux/rootfsPropagation: unknown propagation "weird"']);
  });

  it('refuses a config without root.path or process', () => {
    expect(problems({ ociVersion: '1.3.0', process: { args: ['sh'], cwd: '/' } })).toEqual(['/root/path: required']);
    expect(problems({ ociVersion: '1.3.0', root: { path: 'r' } })).toEqual(['/process: required to create a container']);
    expect(problems({ ociVersion: '1.3.0', root: { path: 'r' }, process: { args: ['sh'] } as Spec['process'] })).toEqual(['/process/cwd: required']);
  });
});

describe('devices', () => {
  const chr = (mode: number): number => L.S_IFCHR | mode;

  it('defaults as runc creates them, then config devices; same path replaces the default', () => {
    const { init } = buildPlan(
      spec({
        linux: {
          devices: [
            { type: 'c', path: '/dev/null', major: 1, minor: 3, fileMode: 0o600, uid: 5, gid: 6 },
            { type: 'b', path: '/dev/sda', major: 8, minor: 0 },
            { type: 'p', path: '/dev/fifo' },
            { type: 'u', path: '/dev/fuse', major: 10, minor: 229, fileMode: 0o020666 },
          ],
        },
      }),
      ctx,
    );
    expect(init.devices).toEqual([
      { path: '/dev/random', mode: chr(0o666), major: 1, minor: 8, uid: 0, gid: 0 },
      { path: '/dev/full', mode: chr(0o666), major: 1, minor: 7, uid: 0, gid: 0 },
      { path: '/dev/tty', mode: chr(0o666), major: 5, minor: 0, uid: 0, gid: 0 },
      { path: '/dev/zero', mode: chr(0o666), major: 1, minor: 5, uid: 0, gid: 0 },
      { path: '/dev/urandom', mode: chr(0o666), major: 1, minor: 9, uid: 0, gid: 0 },
      { path: '/dev/null', mode: chr(0o600), major: 1, minor: 3, uid: 5, gid: 6 },
      { path: '/dev/sda', mode: L.S_IFBLK | 0o666, major: 8, minor: 0, uid: 0, gid: 0 },
      { path: '/dev/fifo', mode: L.S_IFIFO | 0o666, major: 0, minor: 0, uid: 0, gid: 0 },
      { path: '/dev/fuse', mode: chr(0o666), major: 10, minor: 229, uid: 0, gid: 0 },
    ]);
    expect(init.devSymlinks).toBe(true);
    expect(init.bindDevices).toBe(false);
  });

  it('/dev bound from the host: no device nodes and no /dev symlinks (as runc)', () => {
    const { init } = buildPlan(spec({ mounts: [{ destination: '/dev/', type: 'bind', source: '/dev', options: ['rbind'] }] }), ctx);
    expect(init.devices).toEqual([]);
    expect(init.devSymlinks).toBe(false);
  });

  it('a device in a user namespace (or when tsrun runs in one) is bind-mounted', () => {
    expect(buildPlan(spec(), { ...ctx, runningInUserNamespace: true }).init.bindDevices).toBe(true);
  });
});

describe('process', () => {
  it('copies args, env, user and flags exactly', () => {
    const { init } = buildPlan(
      spec({
        process: {
          args: ['/bin/app', '--x'],
          env: ['A=1', 'A=2', 'EMPTY='],
          cwd: '/',
          terminal: true,
          user: { uid: 1000, gid: 1001, additionalGids: [5, 6], umask: 0o027 },
          noNewPrivileges: true,
          oomScoreAdj: -500,
          apparmorProfile: 'docker-default',
          selinuxLabel: '',
        },
      }),
      ctx,
    );
    expect(init.process).toMatchObject({
      args: ['/bin/app', '--x'],
      env: ['A=1', 'A=2', 'EMPTY='],
      terminal: true,
      uid: 1000,
      gid: 1001,
      additionalGids: [5, 6],
      umask: 0o027,
      capabilities: null,
      noNewPrivileges: true,
      oomScoreAdj: -500,
      personality: null,
      scheduler: null,
      ioPriority: null,
      execCPUAffinity: { initial: null, final: null },
      apparmorProfile: 'docker-default',
      selinuxLabel: null,
      seccomp: null,
    });
  });

  it('absent user is root, absent umask is null', () => {
    expect(buildPlan(spec(), ctx).init.process).toMatchObject({ uid: 0, gid: 0, additionalGids: [], umask: null, terminal: false });
  });

  it('capabilities become numbers per set, duplicates folded', () => {
    const caps = buildPlan(
      spec({ process: { args: ['sh'], cwd: '/', capabilities: { bounding: ['CAP_CHOWN', 'CAP_SYS_ADMIN', 'CAP_CHOWN'], effective: ['CAP_CHECKPOINT_RESTORE'], ambient: [] } } }),
      ctx,
    ).init.process.capabilities;
    expect(caps).toEqual({ bounding: [0, 21], effective: [40], inheritable: [], permitted: [], ambient: [] });
  });

  it('an unknown capability name is an error naming its place', () => {
    expect(problems(spec({ process: { args: ['sh'], cwd: '/', capabilities: { permitted: ['CAP_KILL', 'CAP_FOO'], ambient: ['cap_kill'] } } }))).toEqual([
      '/process/capabilities/permitted/1: unknown capability "CAP_FOO"',
      '/process/capabilities/ambient/0: unknown capability "cap_kill"',
    ]);
  });

  it('a capability above the host last cap is dropped with a warning', () => {
    const r = buildPlan(spec({ process: { args: ['sh'], cwd: '/', capabilities: { bounding: ['CAP_KILL', 'CAP_BPF', 'CAP_PERFMON'] } } }), { ...ctx, lastCap: 37 });
    expect(r.init.process.capabilities?.bounding).toEqual([5]);
    expect(r.warnings).toEqual([expect.stringMatching(/^\/process\/capabilities\/bounding\/1: CAP_BPF is not supported by this kernel/), expect.stringMatching(/bounding\/2: CAP_PERFMON/)]);
  });

  it('rlimits: names to numbers, 2^64-1 (rounded by JSON.parse) is infinity, NOFILE restored when absent', () => {
    const parsed = JSON.parse('[{"type":"RLIMIT_CORE","soft":18446744073709551615,"hard":18446744073709551615},{"type":"RLIMIT_NPROC","soft":9007199254740991,"hard":9007199254740992}]') as { type: string; soft: number; hard: number }[];
    const r = buildPlan(spec({ process: { args: ['sh'], cwd: '/', rlimits: parsed } }), ctx).init.process.rlimits;
    expect(r).toEqual([
      { resource: L.RLIMIT_CORE, soft: RLIM_INFINITY, hard: RLIM_INFINITY },
      { resource: L.RLIMIT_NPROC, soft: '9007199254740991', hard: RLIM_INFINITY },
      { resource: L.RLIMIT_NOFILE, soft: '1024', hard: '524288' },
    ]);
  });

  it('a configured RLIMIT_NOFILE wins over the caller limit; no caller limit adds nothing', () => {
    const r = buildPlan(spec({ process: { args: ['sh'], cwd: '/', rlimits: [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 20 }] } }), ctx).init.process.rlimits;
    expect(r).toEqual([{ resource: L.RLIMIT_NOFILE, soft: '10', hard: '20' }]);
    expect(buildPlan(spec(), { ...ctx, nofile: null }).init.process.rlimits).toEqual([]);
  });

  it('unknown and duplicated rlimits are errors', () => {
    const rl = [
      { type: 'RLIMIT_FOO', soft: 1, hard: 1 },
      { type: 'RLIMIT_AS', soft: 1, hard: 1 },
      { type: 'RLIMIT_AS', soft: 2, hard: 2 },
      { type: 'MS_BIND', soft: 1, hard: 1 },
      { type: 'RLIMIT_CORE', soft: 2, hard: 1 },
    ];
    expect(problems(spec({ process: { args: ['sh'], cwd: '/', rlimits: rl } }))).toEqual([
      '/process/rlimits/0/type: unknown rlimit "RLIMIT_FOO"',
      '/process/rlimits/2/type: duplicated rlimit "RLIMIT_AS"',
      '/process/rlimits/3/type: unknown rlimit "MS_BIND"',
      '/process/rlimits/4: soft limit 2 exceeds hard limit 1',
    ]);
  });

  it('scheduler: policy and flags to numbers, times as strings', () => {
    const s = buildPlan(
      spec({ process: { args: ['sh'], cwd: '/', scheduler: { policy: 'SCHED_DEADLINE', flags: ['SCHED_FLAG_RESET_ON_FORK', 'SCHED_FLAG_DL_OVERRUN'], runtime: 10000000, deadline: 20000000, period: 30000000 } } }),
      ctx,
    ).init.process.scheduler;
    expect(s).toEqual({ policy: 6, nice: 0, priority: 0, flags: 0x05, runtime: '10000000', deadline: '20000000', period: '30000000' });
    const b = buildPlan(spec({ process: { args: ['sh'], cwd: '/', scheduler: { policy: 'SCHED_BATCH', nice: 5 } } }), ctx).init.process.scheduler;
    expect(b).toMatchObject({ policy: 3, nice: 5, flags: 0, runtime: '0' });
    expect(problems(spec({ process: { args: ['sh'], cwd: '/', scheduler: { policy: 'SCHED_FLAG_RECLAIM' as 'SCHED_RR', flags: ['SCHED_RR' as 'SCHED_FLAG_RECLAIM'] } } }))).toEqual([
      '/process/scheduler/policy: unknown policy "SCHED_FLAG_RECLAIM"',
    ]);
  });

  it('ioPriority: class << 13 | priority', () => {
    const io = (c: string, priority?: number): number | null =>
      buildPlan(spec({ process: { args: ['sh'], cwd: '/', ioPriority: { class: c as 'IOPRIO_CLASS_RT', priority } } }), ctx).init.process.ioPriority;
    expect(io('IOPRIO_CLASS_RT', 3)).toBe((1 << 13) | 3);
    expect(io('IOPRIO_CLASS_BE', 7)).toBe((2 << 13) | 7);
    expect(io('IOPRIO_CLASS_IDLE')).toBe(3 << 13);
    expect(problems(spec({ process: { args: ['sh'], cwd: '/', ioPriority: { class: 'IOPRIO_CLASS_NONE' as 'IOPRIO_CLASS_RT' } } }))).toEqual(['/process/ioPriority/class: unknown class "IOPRIO_CLASS_NONE"']);
    expect(problems(spec({ process: { args: ['sh'], cwd: '/', ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 8 } } }))).toEqual([expect.stringMatching(/^\/process\/ioPriority\/priority/)]);
  });

  it('personality: domain and flags', () => {
    const p = (personality: NonNullable<Spec['linux']>['personality']): number | null => buildPlan(spec({ linux: { personality } }), ctx).init.process.personality;
    expect(p({ domain: 'LINUX' })).toBe(0);
    expect(p({ domain: 'LINUX32' })).toBe(8);
    expect(p({ domain: 'LINUX32', flags: ['ADDR_NO_RANDOMIZE'] })).toBe(8 | 0x0040000);
    expect(problems(spec({ linux: { personality: { domain: 'LINUX', flags: ['NOPE'] } } }))).toEqual(['/linux/personality/flags/0: unknown personality flag "NOPE"']);
  });

  it('execCPUAffinity lists are expanded; bad ones name the field', () => {
    const a = buildPlan(spec({ process: { args: ['sh'], cwd: '/', execCPUAffinity: { initial: '0-3,7', final: '1' } } }), ctx).init.process.execCPUAffinity;
    expect(a).toEqual({ initial: [0, 1, 2, 3, 7], final: [1] });
    expect(problems(spec({ process: { args: ['sh'], cwd: '/', execCPUAffinity: { final: '3-1' } } }))).toEqual([expect.stringMatching(/^\/process\/execCPUAffinity\/final: invalid cpu list "3-1"/)]);
  });
});

describe('parseCpuList', () => {
  it('expands ranges and single cpus, sorted and unique', () => {
    expect(parseCpuList('7,0-3')).toEqual([0, 1, 2, 3, 7]);
    expect(parseCpuList(' 2 , 2-3 ')).toEqual([2, 3]);
    expect(parseCpuList('5')).toEqual([5]);
  });
  it.each(['', 'a', '1-', '-1', '1,,2', '3-1', '0-99999', '1.5'])('refuses %j', (s) => {
    expect(() => parseCpuList(s)).toThrow(/cpu/);
  });
});

describe('hooks', () => {
  it('createContainer and startContainer become PlanHooks (args default to [path], timeout 0)', () => {
    const { init } = buildPlan(
      spec({
        hooks: {
          prestart: [{ path: '/ignored/here' }],
          createContainer: [{ path: '/bin/hook', args: ['hook', 'a'], env: ['X=1'], timeout: 5 }],
          startContainer: [{ path: '/bin/other' }],
        },
      }),
      ctx,
    );
    expect(init.hooks).toEqual({
      createContainer: [{ path: '/bin/hook', args: ['hook', 'a'], env: ['X=1'], timeout: 5 }],
      startContainer: [{ path: '/bin/other', args: ['/bin/other'], env: [], timeout: 0 }],
    });
  });
});

describe('errors', () => {
  it('collects every problem into one ConfigError for config.json', () => {
    try {
      buildPlan(spec({ mounts: [{ destination: '/a', type: 'bind' }], process: { args: ['sh'], cwd: '/', capabilities: { bounding: ['CAP_NOPE'] } } }), ctx);
      throw new Error('accepted');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).message).toMatch(/^config\.json: 2 problems:\n {2}\/mounts\/0\/source: .*\n {2}\/process\/capabilities\/bounding\/0: unknown capability "CAP_NOPE"$/);
    }
  });
});
