// linux.seccomp end to end through the tsrun binary (config-linux.md "Seccomp"): real filters in
// real containers, checked by what the container's own system calls return.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  installCleanup, makeBundle, newId, onCleanup, runContainer, skipNote, skipReason, trackDir, tsrun, waitFor,
  type Bundle,
} from '../../conformance/lib/index.js';
import { leftovers } from './ops-lib.js';
import { native } from '../../src/native/index.js';
import type { SeccompProfile } from '../../src/seccomp/profile.js';

installCleanup();

const CLIENT_CONFIGS = '/work/shared/reference/client-configs';
const clientSeccomp = (client: string): Record<string, unknown> | null => {
  const file = join(CLIENT_CONFIGS, `${client}-run.json`);
  if (!existsSync(file)) return null;
  const cfg = JSON.parse(readFileSync(file, 'utf8')) as { linux?: { seccomp?: Record<string, unknown> } };
  return cfg.linux?.seccomp ?? null;
};
const docker = clientSeccomp('docker');
const podman = clientSeccomp('podman');
const ALL_CAPS_SETS = ['bounding', 'effective', 'permitted'] as const;

function setSeccomp(b: Bundle, seccomp: unknown): void {
  (b.config.linux as Record<string, unknown>).seccomp = seccomp;
}

function addCap(b: Bundle, cap: string): void {
  const caps = (b.config.process.capabilities ??= {});
  for (const set of ALL_CAPS_SETS) caps[set] = [...(caps[set] ?? []), cap];
}

async function sh(b: Bundle, script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  b.config.process.args = ['/bin/sh', '-c', script];
  return runContainer(b, newId('sc'));
}

const denyKill = (args: unknown[]) => ({
  defaultAction: 'SCMP_ACT_ALLOW',
  syscalls: [{ names: ['kill'], action: 'SCMP_ACT_ERRNO', args }],
});

// Three sleeps signalled HUP (1), INT (2), TERM (15); each line says whether kill(2) succeeded.
const KILL_SCRIPT =
  'for s in HUP INT TERM; do sleep 30 & p=$!; if kill -s $s $p 2>/dev/null; then echo $s=sent; else echo $s=denied; fi; done';

const killResult = (hup: string, int: string, term: string) => `HUP=${hup}\nINT=${int}\nTERM=${term}\n`;

let agentBin: string | undefined;

/** Builds test/fixtures/seccomp-agent.c once per file into a temp dir. */
function buildAgent(): string {
  if (agentBin) return agentBin;
  const dir = trackDir(mkdtempSync('/tmp/tsrun-conf-sc-agent-'));
  const bin = join(dir, 'seccomp-agent');
  execFileSync('cc', ['-O2', '-o', bin, join(import.meta.dirname, '..', 'fixtures', 'seccomp-agent.c')]);
  agentBin = bin;
  return bin;
}

describe.skipIf(!!skipReason)(`seccomp${skipNote}`, () => {
  it('ERRNO(EPERM) on mkdir/mkdirat: busybox mkdir fails with "Operation not permitted", the rest runs', async () => {
    const b = await makeBundle({ readonlyRoot: false });
    setSeccomp(b, {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      syscalls: [{ names: ['mkdir', 'mkdirat', 'no_such_syscall_in_libseccomp'], action: 'SCMP_ACT_ERRNO' }],
    });
    const r = await sh(b, 'echo hi; mkdir /tmp/x; echo rc=$?; touch /tmp/f && echo touch-ok; grep ^Seccomp: /proc/self/status');
    expect(r.stdout).toBe('hi\nrc=1\ntouch-ok\nSeccomp:\t2\n');
    expect(r.stderr).toContain("mkdir: can't create directory '/tmp/x': Operation not permitted");
    expect(r.code).toBe(0);
  });

  it('errnoRet is returned as configured (EXDEV on mkdir, EOPNOTSUPP on rmdir)', async () => {
    const b = await makeBundle({ readonlyRoot: false });
    setSeccomp(b, {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 18 },
        { names: ['rmdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 95 },
      ],
    });
    const r = await sh(b, 'mkdir /tmp/x; rmdir /tmp');
    expect(r.stderr).toContain("mkdir: can't create directory '/tmp/x': Invalid cross-device link");
    expect(r.stderr).toContain("rmdir: '/tmp': Operation not supported");
  });

  it.skipIf(!docker)(
    docker ? "docker's default profile: busybox runs; mount fails EPERM though CAP_SYS_ADMIN is held" : 'docker profile (skipped: no docker-run.json)',
    async () => {
      const b = await makeBundle({ readonlyRoot: false });
      addCap(b, 'CAP_SYS_ADMIN');
      const script = 'echo hi; mount -t tmpfs x /mnt 2>&1; echo mount=$?; unshare -U true 2>&1; echo unshare=$?';
      // Control: without the profile the same container may mount and unshare, so the failures
      // below are the profile's.
      const control = await sh(b, script);
      expect(control.stdout).toBe('hi\nmount=0\nunshare=0\n');
      setSeccomp(b, docker);
      const r = await sh(b, script);
      expect(r.stdout).toBe(
        'hi\nmount: permission denied (are you root?)\nmount=1\nunshare: unshare(0x10000000): Operation not permitted\nunshare=1\n',
      );
      expect(r.code).toBe(0);
    },
  );

  it.skipIf(!podman)(
    podman ? "podman's default profile: busybox runs; unlisted syscalls get defaultErrnoRet (ENOSYS)" : 'podman profile (skipped: no podman-run.json)',
    async () => {
      const b = await makeBundle({ readonlyRoot: false });
      addCap(b, 'CAP_SYS_ADMIN');
      // podman's profile lists almost every syscall; with mkdir/mkdirat taken out of it, mkdir
      // meets the default action and gets defaultErrnoRet (ENOSYS); sethostname has its own
      // errnoRet 1 (EPERM) rule.
      const profile = structuredClone(podman) as { syscalls: { names: string[] }[] };
      for (const s of profile.syscalls) s.names = s.names.filter((n) => n !== 'mkdir' && n !== 'mkdirat');
      profile.syscalls = profile.syscalls.filter((s) => s.names.length > 0);
      setSeccomp(b, profile);
      const r = await sh(b, 'echo hi; mkdir /tmp/x; echo mkdir=$?; hostname foo; echo hostname=$?');
      expect(r.stdout).toBe('hi\nmkdir=1\nhostname=1\n');
      expect(r.stderr).toContain("mkdir: can't create directory '/tmp/x': Function not implemented");
      expect(r.stderr).toContain('Operation not permitted');
    },
  );

  it.each(['SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_TRAP'])(
    '%s on mkdir: the container process dies by SIGSYS and tsrun run exits 159',
    async (action) => {
      const b = await makeBundle({ readonlyRoot: false, args: ['/bin/mkdir', '/tmp/x'] });
      setSeccomp(b, { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action }] });
      const r = await runContainer(b, newId('sc'));
      expect(r.code).toBe(159);
      expect(existsSync(join(b.rootfs, 'tmp', 'x'))).toBe(false);
    },
  );

  it('SCMP_ACT_LOG lets the call through; SCMP_ACT_TRACE without a tracer fails it with ENOSYS', async () => {
    const b = await makeBundle({ readonlyRoot: false });
    setSeccomp(b, {
      defaultAction: 'SCMP_ACT_ALLOW',
      flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_TSYNC'],
      syscalls: [
        { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_LOG' },
        { names: ['rmdir'], action: 'SCMP_ACT_TRACE' },
      ],
    });
    const r = await sh(b, 'mkdir /tmp/x && echo mkdir-ok; rmdir /tmp/x; echo rmdir=$?');
    expect(r.stdout).toBe('mkdir-ok\nrmdir=1\n');
    expect(r.stderr).toContain('Function not implemented');
  });

  it.each([
    ['EQ 15', [{ index: 1, value: 15, op: 'SCMP_CMP_EQ' }], killResult('sent', 'sent', 'denied')],
    ['NE 1', [{ index: 1, value: 1, op: 'SCMP_CMP_NE' }], killResult('sent', 'denied', 'denied')],
    ['GT 2', [{ index: 1, value: 2, op: 'SCMP_CMP_GT' }], killResult('sent', 'sent', 'denied')],
    ['GE 2', [{ index: 1, value: 2, op: 'SCMP_CMP_GE' }], killResult('sent', 'denied', 'denied')],
    ['LT 2', [{ index: 1, value: 2, op: 'SCMP_CMP_LT' }], killResult('denied', 'sent', 'sent')],
    ['LE 2', [{ index: 1, value: 2, op: 'SCMP_CMP_LE' }], killResult('denied', 'denied', 'sent')],
    // 15 & 0b1000 == 0b1000; 1 and 2 have bit 3 clear.
    ['MASKED_EQ 8/8', [{ index: 1, value: 8, valueTwo: 8, op: 'SCMP_CMP_MASKED_EQ' }], killResult('sent', 'sent', 'denied')],
    // value is the mask, valueTwo the datum (as runc and docker's clone rule use them): 2&3 == 2,
    // while 1&3 and 15&3 differ; mask and datum swapped would deny nothing.
    ['MASKED_EQ mask 3 datum 2', [{ index: 1, value: 3, valueTwo: 2, op: 'SCMP_CMP_MASKED_EQ' }], killResult('sent', 'denied', 'sent')],
    // Same index twice: either matches (OR), as runc and docker's profile expect.
    ['EQ 1 or EQ 15', [{ index: 1, value: 1, op: 'SCMP_CMP_EQ' }, { index: 1, value: 15, op: 'SCMP_CMP_EQ' }], killResult('denied', 'sent', 'denied')],
    // Distinct indexes: all must match (AND); pid is never 0 here.
    ['EQ 15 and pid EQ 0', [{ index: 1, value: 15, op: 'SCMP_CMP_EQ' }, { index: 0, value: 0, op: 'SCMP_CMP_EQ' }], killResult('sent', 'sent', 'sent')],
  ])('argument filter %s on kill(2) matches exactly', async (_name, args, expected) => {
    const b = await makeBundle();
    setSeccomp(b, denyKill(args));
    const r = await sh(b, KILL_SCRIPT);
    expect(r.stdout).toBe(expected);
    expect(r.code).toBe(0);
  });

  it('personality: only the query value 0xffffffff allowed; docker\'s profile allows PER_LINUX32 exactly', async () => {
    const b = await makeBundle({ applets: ['linux32', 'linux64'] });
    const script = 'linux32 uname -m; echo l32=$?; linux64 uname -m; echo l64=$?';
    setSeccomp(b, {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 0xffffffff, op: 'SCMP_CMP_NE' }] }],
    });
    const denied = await sh(b, script);
    expect(denied.stdout).toBe('l32=1\nl64=1\n');
    expect(denied.stderr).toContain('Operation not permitted');
    if (docker) {
      setSeccomp(b, docker);
      expect((await sh(b, script)).stdout).toBe('i686\nl32=0\nx86_64\nl64=0\n');
    }
  });

  it('loads after the identity change without no_new_privileges (CAP_SYS_ADMIN dropped) and with it', async () => {
    for (const nnp of [false, true]) {
      const b = await makeBundle({ readonlyRoot: false });
      b.config.process.noNewPrivileges = nnp;
      b.config.process.user = { uid: 1000, gid: 1000 };
      // Setup calls oci-init makes after a filter loaded early (setuid, capset, chdir...) must not
      // be caught by a profile that only denies mkdir.
      setSeccomp(b, { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] });
      const r = await sh(b, 'id -u; mkdir /tmp/x; echo rc=$?');
      expect(r.stdout).toBe('1000\nrc=1\n');
    }
  });

  it('a bad errnoRet is a config error naming the field, and nothing is left behind', async () => {
    const b = await makeBundle();
    setSeccomp(b, { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_KILL', errnoRet: 1 }] });
    b.write();
    const id = newId('sc');
    const r = await tsrun(['run', '--bundle', b.dir, id], { cwd: b.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('/linux/seccomp/syscalls/0/errnoRet');
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
  });

  // noNewPrivileges false with CAP_SYS_ADMIN dropped: the filter goes in before the identity
  // change, so the fd is sent during create; otherwise right before execve.
  it.each([true, false])('SCMP_ACT_NOTIFY (noNewPrivileges %s): the agent gets the notify fd with the container state and answers the call', async (nnp) => {
    const agent = buildAgent();
    const dir = trackDir(mkdtempSync('/tmp/tsrun-conf-sc-listen-'));
    const sock = join(dir, 'agent.sock');
    const out = join(dir, 'state.json');
    const proc: ChildProcess = spawn(agent, [sock, out, '123'], { stdio: ['ignore', 'ignore', 'inherit'] });
    onCleanup(() => void proc.kill('SIGKILL'));
    expect(await waitFor(() => existsSync(sock), 5000)).toBe(true);
    const b = await makeBundle({ readonlyRoot: false });
    b.config.process.noNewPrivileges = nnp;
    setSeccomp(b, {
      defaultAction: 'SCMP_ACT_ALLOW',
      listenerPath: sock,
      listenerMetadata: 'agent-metadata',
      flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
    });
    const id = newId('sc');
    b.config.process.args = ['/bin/sh', '-c', 'mkdir /tmp/x; echo rc=$?'];
    const r = await runContainer(b, id);
    // 123 = ENOMEDIUM: only the agent could have answered that.
    expect(r.stderr).toContain("mkdir: can't create directory '/tmp/x': No medium found");
    expect(r.stdout).toBe('rc=1\n');
    const st = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown> & { state: Record<string, unknown> };
    expect(st).toMatchObject({ ociVersion: expect.any(String), fds: ['seccompFd'], metadata: 'agent-metadata' });
    expect(st.pid).toBeGreaterThan(1);
    expect(st.state).toMatchObject({ id, bundle: b.dir, pid: st.pid });
    expect(readFileSync(`${out}.log`, 'utf8')).toMatch(/^nr \d+\n/);
  });

  it('SCMP_ACT_NOTIFY with nobody listening: create fails naming the listener, nothing is left behind', async () => {
    const b = await makeBundle();
    const sock = join(b.dir, 'nobody.sock');
    setSeccomp(b, { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: sock, syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] });
    b.write();
    const id = newId('sc');
    const r = await tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`seccomp listener ${sock}: connect`);
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
  });
});

const addonBuilt = existsSync(join(import.meta.dirname, '..', '..', 'build', 'Release', 'tsrun.node'));

describe.skipIf(!addonBuilt)(`compileSeccomp in the addon${addonBuilt ? '' : ' (skipped: addon not built)'}`, () => {
  const profile = (over: Partial<SeccompProfile> = {}): SeccompProfile => ({
    defaultAction: 'SCMP_ACT_ALLOW', defaultErrno: 0, architectures: ['SCMP_ARCH_X86_64'], flags: [], rules: [], listener: null, ...over,
  });
  const rule = (syscall: string, action: SeccompProfile['defaultAction'] = 'SCMP_ACT_ERRNO') => ({ syscall, action, errno: 1, conditions: [] });

  it('exports whole sock_filter records that start by checking the architecture', () => {
    const out = native().compileSeccomp(profile({ rules: [rule('mkdir')] }));
    expect(out.bpf.length % 8).toBe(0);
    // BPF_LD|BPF_W|BPF_ABS of seccomp_data.arch (offset 4): a filter that skips it is unsafe.
    expect(out.bpf.readUInt16LE(0)).toBe(0x20);
    expect(out.bpf.readUInt32LE(4)).toBe(4);
    expect(out).toMatchObject({ flags: 0, skipped: [], notify: false });
  });

  it('skips unknown syscall names and reports them', () => {
    const out = native().compileSeccomp(profile({ rules: [rule('mkdir'), rule('no_such_call')] }));
    expect(out.skipped).toEqual(['no_such_call']);
  });

  it('maps flag names to bits; NEW_LISTENER with NOTIFY; WAIT_KILLABLE_RECV only with a listener', () => {
    const flags: SeccompProfile['flags'] = ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'];
    expect(native().compileSeccomp(profile({ flags })).flags).toBe(2 | 4);
    const n = native().compileSeccomp(profile({ flags, rules: [rule('mkdir', 'SCMP_ACT_NOTIFY')] }));
    expect(n.flags).toBe(2 | 4 | 8 | 32);
    expect(n.notify).toBe(true);
  });

  it('a malformed profile is a TypeError naming the field', () => {
    expect(() => native().compileSeccomp(profile({ defaultAction: 'SCMP_ACT_BOGUS' as never }))).toThrow(/compileSeccomp: unknown action SCMP_ACT_BOGUS/);
    const bad = profile({ rules: [{ ...rule('mkdir'), conditions: [{ index: 0, op: 'SCMP_CMP_EQ', value: 'x', valueTwo: '0' }] }] });
    expect(() => native().compileSeccomp(bad)).toThrow(/value must be a decimal uint64/);
  });

  it('a rule libseccomp refuses is a system error naming the syscall', () => {
    const badIndex = profile({
      rules: [{ ...rule('mkdir'), conditions: [{ index: 7, op: 'SCMP_CMP_EQ', value: '1', valueTwo: '0' }] }],
    });
    expect(() => native().compileSeccomp(badIndex)).toThrow(/seccomp_rule_add.*mkdir/);
  });
});
