/**
 * linux.seccomp (config-linux.md "Seccomp") -> a SeccompProfile: the flat list of libseccomp rules
 * the addon's compileSeccomp turns into BPF. Pure: no I/O, no addon; what needs libseccomp itself
 * (syscall and architecture names) is resolved by the addon.
 *
 * Where the spec is silent this follows runc (libcontainer/seccomp, specconv):
 * - errnoRet defaults to EPERM for SCMP_ACT_ERRNO and SCMP_ACT_TRACE and is refused elsewhere;
 * - a rule whose action equals the default action is dropped (libseccomp refuses it with EACCES);
 * - several args on distinct indexes are one rule (AND); two args on the same index make one rule
 *   per arg (OR), which is how docker's profile writes "personality(a) or personality(b)";
 * - SECCOMP_FILTER_FLAG_TSYNC is accepted and not passed on: oci-init is single-threaded, and the
 *   kernel refuses TSYNC together with NEW_LISTENER.
 */
import type { LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompOperator } from '../spec/types.js';

export const SECCOMP_ACTIONS: readonly LinuxSeccompAction[] = [
  'SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY', 'SCMP_ACT_TRACE', 'SCMP_ACT_TRAP',
];

export const SECCOMP_OPERATORS: readonly LinuxSeccompOperator[] = [
  'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_LE', 'SCMP_CMP_LT', 'SCMP_CMP_MASKED_EQ', 'SCMP_CMP_NE',
];

/** Filter flags tsrun knows; TSYNC is known but meaningless for a single-threaded init. */
export const SECCOMP_KNOWN_FLAGS = [
  'SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
] as const;

/** Flags handed to seccomp(2) as given (the addon maps names to SECCOMP_FILTER_FLAG_* bits). */
export type SeccompKernelFlag = 'SECCOMP_FILTER_FLAG_SPEC_ALLOW' | 'SECCOMP_FILTER_FLAG_LOG' | 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV';

/** The highest syscall argument index (seccomp_data.args has six). */
const MAX_ARG_INDEX = 5;
const EPERM = 1;

export interface SeccompCondition {
  index: number;
  op: LinuxSeccompOperator;
  /** uint64 as a decimal string: JSON numbers above 2^53 do not survive as JS numbers. */
  value: string;
  /** The second operand (the mask's comparison value for MASKED_EQ); "0" when absent. */
  valueTwo: string;
}

/** One libseccomp rule: seccomp_rule_add_array(action(errno), syscall, conditions). */
export interface SeccompRule {
  syscall: string;
  action: LinuxSeccompAction;
  /** Return value for ERRNO, message data for TRACE; 0 otherwise. */
  errno: number;
  conditions: SeccompCondition[];
}

export interface SeccompProfile {
  defaultAction: LinuxSeccompAction;
  defaultErrno: number;
  /** SCMP_ARCH_* names as the config gives them (the native one is always included). */
  architectures: string[];
  flags: SeccompKernelFlag[];
  rules: SeccompRule[];
  /** Set when some action is SCMP_ACT_NOTIFY: where oci-init sends the notify fd. */
  listener: { path: string; metadata: string } | null;
}

/** Converts a validated linux.seccomp; problems are pushed as "<JSON path>: <what>" (plan.ts style). */
export function seccompProfile(sc: LinuxSeccomp, problems: string[]): SeccompProfile {
  const base = '/linux/seccomp';
  const defaultErrno = errnoFor(sc.defaultAction, sc.defaultErrnoRet, `${base}/defaultErrnoRet`, problems);
  const rules: SeccompRule[] = [];
  (sc.syscalls ?? []).forEach((call, i) => {
    const at = `${base}/syscalls/${i}`;
    const errno = errnoFor(call.action, call.errnoRet, `${at}/errnoRet`, problems);
    const conditions = (call.args ?? []).map((a, j) => condition(a, `${at}/args/${j}`, problems));
    // Same action and return value as the default: the rule would change nothing.
    if (call.action === sc.defaultAction && errno === defaultErrno) return;
    for (const syscall of call.names ?? []) {
      for (const conds of conditionGroups(conditions)) rules.push({ syscall, action: call.action, errno, conditions: conds });
    }
  });
  const notify = sc.defaultAction === 'SCMP_ACT_NOTIFY' || rules.some((r) => r.action === 'SCMP_ACT_NOTIFY');
  if (notify && !sc.listenerPath) problems.push(`${base}/listenerPath: is required when SCMP_ACT_NOTIFY is used`);
  if (sc.defaultAction === 'SCMP_ACT_NOTIFY') {
    // The listener could not even receive the fd: sendmsg itself would wait on the listener.
    problems.push(`${base}/defaultAction: SCMP_ACT_NOTIFY cannot be the default action`);
  }
  (sc.syscalls ?? []).forEach((call, i) => {
    // oci-init hands the notify fd over with sendmsg after loading the filter: a notifying
    // sendmsg would wait for a listener that has no fd yet.
    if (call.action === 'SCMP_ACT_NOTIFY' && (call.names ?? []).includes('sendmsg')) {
      problems.push(`${base}/syscalls/${i}: SCMP_ACT_NOTIFY cannot be used for sendmsg (tsrun sends the notify fd with it)`);
    }
  });
  return {
    defaultAction: sc.defaultAction,
    defaultErrno,
    architectures: [...new Set(sc.architectures ?? [])],
    flags: [...new Set((sc.flags ?? []).filter((f): f is SeccompKernelFlag => f !== 'SECCOMP_FILTER_FLAG_TSYNC'))],
    rules,
    listener: notify && sc.listenerPath ? { path: sc.listenerPath, metadata: sc.listenerMetadata ?? '' } : null,
  };
}

function errnoFor(action: LinuxSeccompAction, ret: number | undefined, at: string, problems: string[]): number {
  const takesErrno = action === 'SCMP_ACT_ERRNO' || action === 'SCMP_ACT_TRACE';
  if (ret === undefined) return takesErrno ? EPERM : 0;
  if (!takesErrno) {
    problems.push(`${at}: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take a return value (action is ${action})`);
    return 0;
  }
  // SECCOMP_RET_DATA is 16 bits wide.
  if (!Number.isInteger(ret) || ret < 0 || ret > 0xffff) problems.push(`${at}: must be an integer from 0 to 65535`);
  return ret;
}

function condition(a: LinuxSeccompArg, at: string, problems: string[]): SeccompCondition {
  if (!Number.isInteger(a.index) || a.index < 0 || a.index > MAX_ARG_INDEX) {
    problems.push(`${at}/index: must be an integer from 0 to ${MAX_ARG_INDEX}`);
  }
  if (!SECCOMP_OPERATORS.includes(a.op)) problems.push(`${at}/op: unknown operator "${String(a.op)}"`);
  return { index: a.index, op: a.op, value: u64(a.value, `${at}/value`, problems), valueTwo: u64(a.valueTwo ?? 0, `${at}/valueTwo`, problems) };
}

function u64(v: number, at: string, problems: string[]): string {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= 2 ** 64) {
    problems.push(`${at}: must be an unsigned 64-bit integer`);
    return '0';
  }
  return BigInt(v).toString();
}

/** AND when every condition has its own argument index, else one rule per condition (OR). */
function conditionGroups(conds: SeccompCondition[]): SeccompCondition[][] {
  if (conds.length === 0) return [[]];
  const indexes = new Set(conds.map((c) => c.index));
  return indexes.size === conds.length ? [conds] : conds.map((c) => [c]);
}
