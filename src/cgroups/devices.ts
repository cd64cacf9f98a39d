/**
 * Device cgroup rules (config-linux.md "Device allowlist"), normalised once for both the v1
 * devices.allow/deny strings and the v2 eBPF program. Pure.
 *
 * Semantics (both versions): entries apply in the listed order, so for each access bit (m, r, w)
 * the LAST entry that matches the device and names the bit decides; a bit no entry names is denied.
 * That is exactly what writing the entries one by one to v1 devices.allow/deny produces.
 */

import type { LinuxDeviceCgroup, LinuxDevice } from '../spec/types.js';
import { resourceError, FIELD } from './convert.js';

/** bpf_cgroup_dev_ctx access bits (include/uapi/linux/bpf.h BPF_DEVCG_ACC_*). */
export const ACC_MKNOD = 1;
export const ACC_READ = 2;
export const ACC_WRITE = 4;
export const ACC_ALL = 7;

export interface DeviceRule {
  allow: boolean;
  type: 'a' | 'c' | 'b';
  /** -1 = any. */
  major: number;
  minor: number;
  /** ACC_* bits. */
  access: number;
}

export function normalizeDeviceRule(d: LinuxDeviceCgroup, index: number): DeviceRule {
  const field = `${FIELD}.devices.${index}`;
  const type = d.type ?? 'a';
  if (type !== 'a' && type !== 'c' && type !== 'b') throw resourceError(`${field}.type`, `invalid device type "${type}" (want a, c or b)`);
  let access = 0;
  for (const ch of d.access ?? 'rwm') {
    const bit = ch === 'r' ? ACC_READ : ch === 'w' ? ACC_WRITE : ch === 'm' ? ACC_MKNOD : 0;
    if (bit === 0) throw resourceError(`${field}.access`, `invalid device access "${d.access}" (want letters from r, w, m)`);
    access |= bit;
  }
  if (access === 0) access = ACC_ALL;
  return { allow: d.allow, type, major: num(d.major, `${field}.major`), minor: num(d.minor, `${field}.minor`), access };
}

function num(n: number | undefined, field: string): number {
  if (n === undefined || n === -1) return -1;
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw resourceError(field, `invalid device number ${n}`);
  return n;
}

export function normalizeDeviceRules(rules: LinuxDeviceCgroup[] | undefined): DeviceRule[] {
  return (rules ?? []).map(normalizeDeviceRule);
}

/** v1 devices.allow / devices.deny line: "c 1:3 rwm", "a *:* rwm". */
export function v1DeviceLine(r: DeviceRule): string {
  const n = (x: number): string => (x < 0 ? '*' : String(x));
  let acc = '';
  if (r.access & ACC_READ) acc += 'r';
  if (r.access & ACC_WRITE) acc += 'w';
  if (r.access & ACC_MKNOD) acc += 'm';
  return `${r.type} ${n(r.major)}:${n(r.minor)} ${acc}`;
}

function allow(type: 'c' | 'b', major: number, minor: number, access = ACC_ALL): DeviceRule {
  return { allow: true, type, major, minor, access };
}

/** What runc always allows after the spec's entries (libcontainer/specconv AllowedDevices): mknod of
 *  anything (creating a node is harmless when opening it is refused), and the standard nodes
 *  every container gets in /dev. */
export const DEFAULT_ALLOWED: readonly DeviceRule[] = [
  allow('c', -1, -1, ACC_MKNOD),
  allow('b', -1, -1, ACC_MKNOD),
  allow('c', 1, 3), // /dev/null
  allow('c', 1, 8), // /dev/random
  allow('c', 1, 7), // /dev/full
  allow('c', 5, 0), // /dev/tty
  allow('c', 1, 5), // /dev/zero
  allow('c', 1, 9), // /dev/urandom
  allow('c', 136, -1), // /dev/pts/*
  allow('c', 5, 2), // /dev/ptmx
  allow('c', 10, 200), // /dev/net/tun
];

/**
 * The rule list the container's cgroup gets at create: the spec's linux.resources.devices, then
 * runc's defaults, then every device the spec creates in linux.devices (it asked for them, so it
 * can use them). Last match wins, so the appended allows override an earlier deny of the same node.
 */
export function effectiveDeviceRules(spec: LinuxDeviceCgroup[] | undefined, created: LinuxDevice[] | undefined): DeviceRule[] {
  const rules = normalizeDeviceRules(spec);
  rules.push(...DEFAULT_ALLOWED);
  for (const d of created ?? []) {
    if (d.type === 'p' || d.major === undefined || d.minor === undefined) continue;
    rules.push(allow(d.type === 'b' ? 'b' : 'c', d.major, d.minor));
  }
  return rules;
}

/** Pure decision for one access, the reference the BPF program and its tests are checked against. */
export function decide(rules: readonly DeviceRule[], type: 'c' | 'b', major: number, minor: number, access: number): boolean {
  let undecided = access;
  for (let i = rules.length - 1; i >= 0 && undecided !== 0; i--) {
    const r = rules[i]!;
    if (r.type !== 'a' && r.type !== type) continue;
    if (r.major >= 0 && r.major !== major) continue;
    if (r.minor >= 0 && r.minor !== minor) continue;
    if ((r.access & undecided) === 0) continue;
    if (!r.allow) return false;
    undecided &= ~r.access;
  }
  return undecided === 0;
}
