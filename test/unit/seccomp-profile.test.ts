import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileForPlan, seccompProfile } from '../../src/seccomp/index.js';
import { seccompFeatures } from '../../src/seccomp/features.js';
import { SECCOMP_ACTIONS, SECCOMP_OPERATORS } from '../../src/seccomp/profile.js';
import { FakeNative } from '../../src/native/fake.js';
import { buildPlan, type PlanContext } from '../../src/spec/plan.js';
import { defaultSpec } from '../../src/spec/default-spec.js';
import type { InitPlan } from '../../src/spec/plan-types.js';
import type { LinuxSeccomp, Spec } from '../../src/spec/types.js';
import { ConfigError } from '../../src/errors.js';
import { featuresProblems } from '../../src/spec/load.js';

const refDir = new URL('../../../shared/reference/client-configs/', import.meta.url);
const haveRef = existsSync(refDir);
const refNote = haveRef ? '' : ' (skipped: /work/shared/reference/client-configs absent)';

function convert(sc: LinuxSeccomp): { profile: ReturnType<typeof seccompProfile>; problems: string[] } {
  const problems: string[] = [];
  return { profile: seccompProfile(sc, problems), problems };
}

const ctx: PlanContext = { bundle: '/b', noPivot: false, lastCap: 40, nofile: null, cgroupMode: 'v2' };

describe('seccompProfile', () => {
  it('defaults errnoRet to EPERM for ERRNO and TRACE only, and keeps a configured one', () => {
    const { profile, problems } = convert({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['a'], action: 'SCMP_ACT_TRACE' },
        { names: ['b'], action: 'SCMP_ACT_ALLOW' },
        { names: ['c'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
      ],
    });
    expect(problems).toEqual([]);
    expect(profile.defaultErrno).toBe(1);
    expect(profile.rules.map((r) => [r.syscall, r.action, r.errno])).toEqual([
      ['a', 'SCMP_ACT_TRACE', 1],
      ['b', 'SCMP_ACT_ALLOW', 0],
      ['c', 'SCMP_ACT_ERRNO', 38],
    ]);
  });

  it('refuses errnoRet on other actions and out of the 16-bit range, naming the field', () => {
    const { problems } = convert({
      defaultAction: 'SCMP_ACT_KILL',
      defaultErrnoRet: 1,
      syscalls: [
        { names: ['a'], action: 'SCMP_ACT_ALLOW', errnoRet: 1 },
        { names: ['b'], action: 'SCMP_ACT_ERRNO', errnoRet: 70000 },
      ],
    });
    expect(problems).toEqual([
      '/linux/seccomp/defaultErrnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take a return value (action is SCMP_ACT_KILL)',
      '/linux/seccomp/syscalls/0/errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take a return value (action is SCMP_ACT_ALLOW)',
      '/linux/seccomp/syscalls/1/errnoRet: must be an integer from 0 to 65535',
    ]);
  });

  it('drops rules identical to the default action, keeps ones that differ by errno', () => {
    const { profile } = convert({
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      syscalls: [
        { names: ['same'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
        { names: ['other'], action: 'SCMP_ACT_ERRNO' },
      ],
    });
    expect(profile.rules.map((r) => r.syscall)).toEqual(['other']);
  });

  it('one rule per name; distinct arg indexes AND in one rule, a repeated index ORs as one rule per arg', () => {
    const and = convert({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['x', 'y'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }, { index: 2, value: 3, op: 'SCMP_CMP_GT' }] }],
    }).profile;
    expect(and.rules).toHaveLength(2);
    expect(and.rules[0]!.conditions).toEqual([
      { index: 0, op: 'SCMP_CMP_EQ', value: '1', valueTwo: '0' },
      { index: 2, op: 'SCMP_CMP_GT', value: '3', valueTwo: '0' },
    ]);
    const or = convert({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['x'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 1, op: 'SCMP_CMP_EQ' }, { index: 1, value: 15, op: 'SCMP_CMP_EQ' }] }],
    }).profile;
    expect(or.rules.map((r) => r.conditions.map((c) => c.value))).toEqual([['1'], ['15']]);
  });

  it('passes 64-bit values as decimal strings and refuses what is no uint64 or no argument index', () => {
    const { profile, problems } = convert({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['a'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 0xffffffff, valueTwo: 2 ** 40, op: 'SCMP_CMP_MASKED_EQ' }] },
        { names: ['b'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: -1, op: 'SCMP_CMP_EQ' }, { index: 0, value: 2 ** 64, op: 'SCMP_CMP_EQ' }] },
      ],
    });
    expect(profile.rules[0]!.conditions[0]).toEqual({ index: 0, op: 'SCMP_CMP_MASKED_EQ', value: '4294967295', valueTwo: '1099511627776' });
    expect(problems).toEqual([
      '/linux/seccomp/syscalls/1/args/0/index: must be an integer from 0 to 5',
      '/linux/seccomp/syscalls/1/args/0/value: must be an unsigned 64-bit integer',
      '/linux/seccomp/syscalls/1/args/1/value: must be an unsigned 64-bit integer',
    ]);
  });

  it('drops TSYNC (single-threaded init; the kernel refuses it with a listener) and duplicate flags', () => {
    const { profile } = convert({
      defaultAction: 'SCMP_ACT_ALLOW',
      flags: ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'],
    });
    expect(profile.flags).toEqual(['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW']);
  });

  it('sets the listener only when a rule notifies', () => {
    const base = { defaultAction: 'SCMP_ACT_ALLOW' as const, listenerPath: '/run/agent.sock', listenerMetadata: 'm' };
    expect(convert({ ...base, syscalls: [{ names: ['a'], action: 'SCMP_ACT_ERRNO' }] }).profile.listener).toBeNull();
    expect(convert({ ...base, syscalls: [{ names: ['a'], action: 'SCMP_ACT_NOTIFY' }] }).profile.listener).toEqual({ path: '/run/agent.sock', metadata: 'm' });
    const noMeta = convert({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/s', syscalls: [{ names: ['a'], action: 'SCMP_ACT_NOTIFY' }] });
    expect(noMeta.profile.listener).toEqual({ path: '/s', metadata: '' });
  });

  it('refuses NOTIFY without listenerPath, as the default action, and on sendmsg', () => {
    expect(convert({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['a'], action: 'SCMP_ACT_NOTIFY' }] }).problems).toEqual([
      '/linux/seccomp/listenerPath: is required when SCMP_ACT_NOTIFY is used',
    ]);
    expect(convert({ defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/s' }).problems).toEqual([
      '/linux/seccomp/defaultAction: SCMP_ACT_NOTIFY cannot be the default action',
    ]);
    expect(convert({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/s', syscalls: [{ names: ['read', 'sendmsg'], action: 'SCMP_ACT_NOTIFY' }] }).problems).toEqual([
      '/linux/seccomp/syscalls/0: SCMP_ACT_NOTIFY cannot be used for sendmsg (tsrun sends the notify fd with it)',
    ]);
  });
});

describe('buildPlan and compileForPlan', () => {
  const withSeccomp = (sc: LinuxSeccomp): Spec => {
    const s = defaultSpec({ rootless: false });
    s.linux = { ...s.linux, seccomp: sc };
    return s;
  };

  it('buildPlan carries the profile and leaves init.process.seccomp for the caller to compile', () => {
    const built = buildPlan(withSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] }), ctx);
    expect(built.seccomp?.rules).toEqual([{ syscall: 'mkdir', action: 'SCMP_ACT_ERRNO', errno: 1, conditions: [] }]);
    expect(built.init.process.seccomp).toBeNull();
    expect(buildPlan(defaultSpec({ rootless: false }), ctx).seccomp).toBeNull();
  });

  it('buildPlan throws a ConfigError naming the seccomp field', () => {
    const spec = withSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_LOG', errnoRet: 5 }] });
    expect(() => buildPlan(spec, ctx)).toThrow(ConfigError);
    expect(() => buildPlan(spec, ctx)).toThrow('/linux/seccomp/syscalls/0/errnoRet');
  });

  it('compileForPlan stores base64 BPF and flags; the listener only when the compiled filter notifies', () => {
    const fake = new FakeNative();
    const built = buildPlan(
      withSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/s', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }),
      ctx,
    );
    const plan: InitPlan = structuredClone(built.init);
    compileForPlan(plan, built.seccomp, fake);
    expect(fake.callsOf('compileSeccomp')).toEqual([[built.seccomp]]);
    expect(plan.process.seccomp).toEqual({ bpf: 'BgAAAAAA/38=', flags: 8, listener: { path: '/s', metadata: '' } });
    // libseccomp skipped the only NOTIFY rule (unknown syscall): no fd, so no listener.
    fake.script('compileSeccomp', { bpf: Buffer.alloc(8), flags: 0, skipped: ['mkdir'], notify: false });
    compileForPlan(plan, built.seccomp, fake);
    expect(plan.process.seccomp?.listener).toBeNull();
  });

  it('compileForPlan names linux.seccomp when libseccomp refuses the profile', () => {
    const fake = new FakeNative().script('compileSeccomp', new Error('EINVAL: invalid argument, seccomp_rule_add (syscall mkdir)'));
    const built = buildPlan(withSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] }), ctx);
    expect(() => compileForPlan(built.init, built.seccomp, fake)).toThrow(
      'config.json: /linux/seccomp: libseccomp refused the profile: EINVAL: invalid argument, seccomp_rule_add (syscall mkdir)',
    );
  });

  it('compileForPlan without a profile leaves the plan alone and never calls the addon', () => {
    const fake = new FakeNative();
    const plan = structuredClone(buildPlan(defaultSpec({ rootless: false }), ctx).init);
    compileForPlan(plan, null, fake);
    expect(plan.process.seccomp).toBeNull();
    expect(fake.calls).toEqual([]);
  });

  it.skipIf(!haveRef)(`docker's profile: personality's five EQ alternatives stay separate rules${refNote}`, () => {
    const spec = JSON.parse(readFileSync(new URL('docker-run.json', refDir), 'utf8')) as Spec;
    const sc = buildPlan(spec, { ...ctx, bundle: '/run/bundle' }).seccomp!;
    expect(sc.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(sc.defaultErrno).toBe(1);
    const personality = sc.rules.filter((r) => r.syscall === 'personality');
    expect(personality.map((r) => r.conditions.map((c) => c.value))).toEqual([['0'], ['8'], ['131072'], ['131080'], ['4294967295']]);
    expect(sc.rules.find((r) => r.syscall === 'clone3')).toMatchObject({ action: 'SCMP_ACT_ERRNO', errno: 38 });
    expect(sc.listener).toBeNull();
  });
});

describe('seccompFeatures', () => {
  it('is enabled and lists every action and operator of the spec', () => {
    const f = seccompFeatures();
    expect(f.enabled).toBe(true);
    expect([...f.actions].sort()).toEqual([...SECCOMP_ACTIONS].sort());
    expect(f.actions).toHaveLength(9);
    expect([...f.operators].sort()).toEqual([...SECCOMP_OPERATORS].sort());
    expect(f.operators).toHaveLength(7);
    expect(f.archs).toContain('SCMP_ARCH_X86_64');
    expect(f.knownFlags).toEqual(expect.arrayContaining(['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV']));
  });

  it('fits the features schema (features-linux.md "Seccomp")', () => {
    expect(featuresProblems({ ociVersionMin: '1.0.0', ociVersionMax: '1.3.0', linux: { seccomp: seccompFeatures() } })).toEqual([]);
  });
});
