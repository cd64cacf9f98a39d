/**
 * linux.seccomp end to end: profile.ts turns the config into libseccomp rules (pure, inside
 * buildPlan), compileForPlan has the addon compile them to BPF for oci-init, which loads the
 * program as late as possible before execve (addon/init/main.cc) and, for SCMP_ACT_NOTIFY, hands
 * the notify fd to linux.seccomp.listenerPath itself (addon/init/seccomp_notify.cc).
 */
import { TsrunError } from '../errors.js';
import type { Native } from '../native/types.js';
import type { InitPlan } from '../spec/plan-types.js';
import type { SeccompProfile } from './profile.js';

export { seccompProfile, type SeccompProfile, type SeccompRule, type SeccompCondition } from './profile.js';

/**
 * Compiles `profile` (BuiltPlan.seccomp) into plan.process.seccomp. No profile: the plan keeps
 * seccomp null. A listener is passed on only when the filter really notifies: a NOTIFY rule whose
 * syscall libseccomp does not know is skipped, and then there is no notify fd to send.
 */
export function compileForPlan(plan: InitPlan, profile: SeccompProfile | null | undefined, native: Pick<Native, 'compileSeccomp'>): void {
  if (!profile) return;
  let out: ReturnType<Native['compileSeccomp']>;
  try {
    out = native.compileSeccomp(profile);
  } catch (e) {
    throw new TsrunError('config.json: /linux/seccomp: libseccomp refused the profile', { cause: e });
  }
  plan.process.seccomp = {
    bpf: out.bpf.toString('base64'),
    flags: out.flags,
    listener: out.notify ? profile.listener : null,
  };
}
