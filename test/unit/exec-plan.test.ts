import { describe, expect, it } from 'vitest';
import { ConfigError, UsageError } from '../../src/errors.js';
import {
  buildExecPlan, execDefaults, parseUser, processFromFile, processFromFlags, subCgroupState, type ExecDefaults, type ExecFlags,
} from '../../src/spec/exec-plan.js';
import { buildPlan } from '../../src/spec/plan.js';
import { LINUX as L } from '../../src/spec/linux-constants.js';
import type { Process, Spec } from '../../src/spec/types.js';

const CONTAINER_PROCESS: Process = {
  args: ['/bin/sleep', '1000'],
  env: ['PATH=/bin', 'TERM=xterm'],
  cwd: '/',
  user: { uid: 0, gid: 0 },
  terminal: true,
  consoleSize: { height: 10, width: 20 },
  capabilities: { bounding: ['CAP_KILL', 'CAP_CHOWN'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'], inheritable: [], ambient: [] },
  rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 }],
  noNewPrivileges: true,
  apparmorProfile: 'docker-default',
};

const SPEC: Spec = {
  ociVersion: '1.3.0',
  root: { path: 'rootfs' },
  process: CONTAINER_PROCESS,
  linux: {
    namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'network', path: '/var/run/netns/x' }, { type: 'ipc' }, { type: 'uts' }],
    personality: { domain: 'LINUX' },
  },
};

const defaults = (): ExecDefaults => structuredClone(execDefaults(SPEC));
const flags = (f: Partial<ExecFlags>): ExecFlags => ({ args: ['/bin/true'], tty: false, env: [], additionalGids: [], caps: [], ...f });
const CTX = { lastCap: 40, nofile: { soft: '1024', hard: '4096' }, cgroupMode: 'v2' as const, initPid: 4242, rootfs: '/b/rootfs', bundle: '/b' };

describe('execDefaults', () => {
  it('keeps the process, namespace types, seccomp and personality of the config', () => {
    const d = execDefaults(SPEC);
    expect(d.process).toEqual(CONTAINER_PROCESS);
    expect(d.namespaces).toEqual(['pid', 'mount', 'network', 'ipc', 'uts']);
    expect(d.personality).toEqual({ domain: 'LINUX' });
    expect(d.seccomp).toBeNull();
  });
});

describe('parseUser', () => {
  it('takes exactly the numbers given', () => {
    expect(parseUser('1')).toEqual({ uid: 1 });
    expect(parseUser('1:2')).toEqual({ uid: 1, gid: 2 });
    expect(parseUser('4294967295:0')).toEqual({ uid: 4294967295, gid: 0 });
  });
  it('refuses names, negatives, overflow and extra fields (never wraps to another uid)', () => {
    for (const bad of ['root', '-1', '4294967296', '1:x', '1:2:3', '', ':1', '1.5']) expect(() => parseUser(bad), bad).toThrow(UsageError);
    expect(() => parseUser('root')).toThrow('parsing root as int for uid failed');
  });
});

describe('processFromFlags', () => {
  it('starts from the container process: args replaced, env appended, terminal from --tty only', () => {
    const p = processFromFlags(defaults(), flags({ args: ['/bin/sh', '-c', 'x'], env: ['A=1'] }));
    expect(p.args).toEqual(['/bin/sh', '-c', 'x']);
    expect(p.env).toEqual(['PATH=/bin', 'TERM=xterm', 'A=1']);
    expect(p.terminal).toBe(false);
    expect(p.consoleSize).toBeUndefined();
    expect(p.capabilities).toEqual(CONTAINER_PROCESS.capabilities);
    expect(p.rlimits).toEqual(CONTAINER_PROCESS.rlimits);
  });
  it('--env replaces a key of the container in place and appends new ones (the last value wins, as runc)', () => {
    const p = processFromFlags(defaults(), flags({ env: ['TERM=dumb', 'B=2', 'B=3'] }));
    expect(p.env).toEqual(['PATH=/bin', 'TERM=dumb', 'B=3']);
  });
  it('--user 1 keeps the configured gid; --user 1:2 sets both; --additional-gids appends', () => {
    const d = defaults();
    d.process!.user = { uid: 0, gid: 7, additionalGids: [5] };
    expect(processFromFlags(d, flags({ user: '1' })).user).toEqual({ uid: 1, gid: 7, additionalGids: [5] });
    expect(processFromFlags(d, flags({ user: '1:2', additionalGids: ['9'] })).user).toEqual({ uid: 1, gid: 2, additionalGids: [5, 9] });
    expect(() => processFromFlags(d, flags({ additionalGids: ['-3'] }))).toThrow('additional-gids must be a positive number -3');
  });
  it('--cwd, --apparmor, --process-label and --no-new-privs override; absent flags keep the config', () => {
    const p = processFromFlags(defaults(), flags({ cwd: '/tmp', apparmor: 'other', processLabel: 'l', noNewPrivs: false }));
    expect(p).toMatchObject({ cwd: '/tmp', apparmorProfile: 'other', selinuxLabel: 'l', noNewPrivileges: false });
    expect(processFromFlags(defaults(), flags({})).noNewPrivileges).toBe(true);
  });
  it('--cap adds to bounding, effective and permitted only, never inheritable or ambient (CVE-2022-29162)', () => {
    const p = processFromFlags(defaults(), flags({ caps: ['CAP_NET_RAW', 'CAP_KILL'] }));
    expect(p.capabilities).toEqual({
      bounding: ['CAP_KILL', 'CAP_CHOWN', 'CAP_NET_RAW'], effective: ['CAP_KILL', 'CAP_NET_RAW'], permitted: ['CAP_KILL', 'CAP_NET_RAW'],
      inheritable: [], ambient: [],
    });
  });
  it('does not change the stored defaults', () => {
    const d = defaults();
    processFromFlags(d, flags({ caps: ['CAP_NET_RAW'], env: ['X=1'], user: '5' }));
    expect(d).toEqual(execDefaults(SPEC));
  });
  it('needs a command', () => {
    expect(() => processFromFlags(defaults(), flags({ args: [] }))).toThrow(/<command> is required/);
  });
});

describe('processFromFile', () => {
  it('takes the file as given; caps, nnp, labels, rlimits fall back to the container when unset', () => {
    const p = processFromFile(defaults(), { args: ['/bin/id'], cwd: '/home', env: ['ONLY=this'], user: { uid: 1000, gid: 1000 } });
    expect(p.env).toEqual(['ONLY=this']);
    expect(p.user).toEqual({ uid: 1000, gid: 1000 });
    expect(p.terminal).toBeUndefined();
    expect(p.capabilities).toEqual(CONTAINER_PROCESS.capabilities);
    expect(p.noNewPrivileges).toBe(true);
    expect(p.apparmorProfile).toBe('docker-default');
    expect(p.rlimits).toEqual(CONTAINER_PROCESS.rlimits);
  });
  it('what the file sets wins', () => {
    const caps = { bounding: ['CAP_CHOWN'] };
    const p = processFromFile(defaults(), { args: ['/bin/id'], cwd: '/', capabilities: caps, noNewPrivileges: false });
    expect(p.capabilities).toEqual(caps);
    expect(p.noNewPrivileges).toBe(false);
  });
});

describe('buildExecPlan', () => {
  it('joins the container namespaces through /proc/<init>/ns, user and pid through the addon', () => {
    const d = defaults();
    d.namespaces.push('user', 'cgroup');
    const plan = buildExecPlan(d, processFromFlags(d, flags({})), CTX, buildPlan);
    expect(plan.init.mode).toBe('exec');
    expect(plan.init.joinNamespaces).toEqual([
      { path: '/proc/4242/ns/ipc', nstype: L.CLONE_NEWIPC },
      { path: '/proc/4242/ns/uts', nstype: L.CLONE_NEWUTS },
      { path: '/proc/4242/ns/net', nstype: L.CLONE_NEWNET },
      { path: '/proc/4242/ns/cgroup', nstype: L.CLONE_NEWCGROUP },
      { path: '/proc/4242/ns/mnt', nstype: L.CLONE_NEWNS },
    ]);
    expect(plan.spawn).toEqual({
      joinInChild: [{ path: '/proc/4242/ns/user', nstype: L.CLONE_NEWUSER }], pidNamespacePath: '/proc/4242/ns/pid', becomeRoot: true,
    });
  });
  it('does no rootfs work, creates no namespace, runs no hooks', () => {
    const plan = buildExecPlan(defaults(), processFromFlags(defaults(), flags({})), CTX, buildPlan);
    expect(plan.init).toMatchObject({
      lateUnshareFlags: 0, timeOffsets: [], mounts: [], devices: [], maskedPaths: [], readonlyPaths: [], sysctl: [],
      hostname: null, domainname: null, hooks: { createContainer: [], startContainer: [] },
    });
    expect(plan.spawn.joinInChild).toEqual([]);
    expect(plan.spawn.becomeRoot).toBe(false);
  });
  it('converts the process as create does (caps to numbers, the caller\'s NOFILE restored when unset)', () => {
    const d = defaults();
    delete d.process!.rlimits;
    const plan = buildExecPlan(d, processFromFlags(d, flags({ user: '3:4' })), CTX, buildPlan);
    expect(plan.init.process).toMatchObject({ args: ['/bin/true'], uid: 3, gid: 4, noNewPrivileges: true, personality: L.PER_LINUX });
    expect(plan.init.process.capabilities?.bounding).toEqual([5, 0]); // CAP_KILL, CAP_CHOWN
    expect(plan.init.process.rlimits).toEqual([{ resource: L.RLIMIT_NOFILE, soft: '1024', hard: '4096' }]);
  });
  it('a bad process.json field is named relative to the file', () => {
    const d = defaults();
    const p = processFromFile(d, { args: ['/x'], cwd: '/', capabilities: { bounding: ['CAP_NOPE'] } });
    let err: unknown;
    try {
      buildExecPlan(d, p, CTX, buildPlan, 'process.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe('process.json: /capabilities/bounding/0: unknown capability "CAP_NOPE"');
  });
  it('carries the container\'s seccomp profile', () => {
    const d = defaults();
    d.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] };
    const plan = buildExecPlan(d, processFromFlags(d, flags({})), CTX, buildPlan);
    expect(plan.seccomp).not.toBeNull();
    expect(plan.init.process.seccomp).toBeNull();
  });
});

describe('subCgroupState', () => {
  it('v2: a path below the container cgroup', () => {
    expect(subCgroupState({ mode: 'v2', paths: { '': '/sys/fs/cgroup/c' } }, 'a/b')).toEqual({ mode: 'v2', paths: { '': '/sys/fs/cgroup/c/a/b' } });
  });
  it('v1: a bare path for every controller, controller:path for one', () => {
    const cg = { mode: 'v1' as const, paths: { cpu: '/sys/fs/cgroup/cpu/c', memory: '/sys/fs/cgroup/memory/c' } };
    expect(subCgroupState(cg, 'x').paths).toEqual({ cpu: '/sys/fs/cgroup/cpu/c/x', memory: '/sys/fs/cgroup/memory/c/x' });
    expect(subCgroupState(cg, 'memory:x').paths).toEqual({ cpu: '/sys/fs/cgroup/cpu/c', memory: '/sys/fs/cgroup/memory/c/x' });
    expect(() => subCgroupState(cg, 'pids:x')).toThrow('the container has no pids cgroup');
  });
  it('never leaves the container cgroup', () => {
    for (const bad of ['..', 'a/../..', '', '/']) expect(() => subCgroupState({ mode: 'v2', paths: { '': '/c' } }, bad), bad).toThrow(UsageError);
  });
});
