/**
 * linux.resources → cgroup v2 file writes, as runc's libcontainer/cgroups/fs2 (and crun) map them.
 * Pure. Fields v2 has no file for are returned in `ignored` so the caller can warn, as runc does.
 * Devices are not files on v2: see devices-bpf.ts.
 */

import type { LinuxResources, LinuxMemory, LinuxCPU, LinuxBlockIO } from '../spec/types.js';
import type { CgroupWrite } from './types.js';
import { FIELD, blkioWeightToIoWeight, checkPageSize, cpuSharesToWeight, rdmaLine, resourceError, swapToV2, v2Num, w } from './convert.js';

export interface V2Plan {
  writes: CgroupWrite[];
  ignored: string[];
}

export function v2Writes(r: LinuxResources): V2Plan {
  const plan: V2Plan = { writes: [], ignored: [] };
  if (r.memory) v2Memory(r.memory, plan);
  if (r.cpu) v2Cpu(r.cpu, plan);
  if (r.pids) plan.writes.push(w('', 'pids.max', r.pids.limit > 0 ? String(r.pids.limit) : 'max', `${FIELD}.pids.limit`));
  if (r.blockIO) v2Io(r.blockIO, plan);
  for (const [i, h] of (r.hugepageLimits ?? []).entries()) {
    const size = checkPageSize(h.pageSize, `${FIELD}.hugepageLimits.${i}.pageSize`);
    plan.writes.push(w('', `hugetlb.${size}.max`, String(h.limit), `${FIELD}.hugepageLimits.${i}.limit`));
    // Reservations too where the kernel accounts them, so a MAP_NORESERVE-free mmap fails up front.
    plan.writes.push(w('', `hugetlb.${size}.rsvd.max`, String(h.limit), `${FIELD}.hugepageLimits.${i}.limit`, { optional: true }));
  }
  for (const [dev, lim] of Object.entries(r.rdma ?? {})) {
    const line = rdmaLine(dev, lim, `${FIELD}.rdma.${dev}`);
    if (line) plan.writes.push(w('', 'rdma.max', line, `${FIELD}.rdma.${dev}`));
  }
  if (r.network?.classID !== undefined) plan.ignored.push(`${FIELD}.network.classID`);
  if (r.network?.priorities?.length) plan.ignored.push(`${FIELD}.network.priorities`);
  // unified last: it is the escape hatch that overrides anything mapped above.
  for (const [key, value] of Object.entries(r.unified ?? {})) plan.writes.push(w('', checkUnifiedKey(key), value, `${FIELD}.unified.${key}`));
  return plan;
}

/** A unified key is a file name in the container's own directory, nothing else: no "/", no "..",
 *  no cgroup core files that move processes or change the tree. (Existence is checked on write.) */
export function checkUnifiedKey(key: string): string {
  const field = `${FIELD}.unified`;
  if (key === '' || key.includes('/') || key.includes('\0') || key === '.' || key === '..' || key.includes('..')) {
    throw resourceError(field, `invalid file name "${key}": must be a file in the container's cgroup directory`);
  }
  if (!/^[a-z0-9_]+\.[a-z0-9_.]+$/.test(key)) throw resourceError(field, `invalid file name "${key}": want <controller>.<file>`);
  if (['cgroup.procs', 'cgroup.threads', 'cgroup.subtree_control', 'cgroup.kill', 'cgroup.type'].includes(key)) {
    throw resourceError(field, `"${key}" is managed by the runtime and cannot be set`);
  }
  return key;
}

function v2Memory(m: LinuxMemory, plan: V2Plan): void {
  const f = `${FIELD}.memory`;
  const limit = m.limit ?? 0;
  const swapSpec = m.swap ?? 0;
  const swap = swapToV2(swapSpec, limit);
  let swapStr = v2Num(swap);
  // limit == swap (memory+swap equals memory): no swap at all, which is "0", not "unset".
  if (swapStr === undefined && swap === 0 && swapSpec > 0) swapStr = '0';
  // Swap before memory.max: runc's order; the two files are independent on v2. Hosts without
  // swap accounting have no memory.swap.max: optional only when it asks for no swap.
  if (swapStr !== undefined) plan.writes.push(w('', 'memory.swap.max', swapStr, `${f}.swap`, { optional: swapStr === '0' }));
  const max = v2Num(limit);
  if (max !== undefined) plan.writes.push(w('', 'memory.max', max, `${f}.limit`));
  const low = v2Num(m.reservation);
  if (low !== undefined) plan.writes.push(w('', 'memory.low', low, `${f}.reservation`));
  if (m.kernel) plan.ignored.push(`${f}.kernel`);
  if (m.kernelTCP) plan.ignored.push(`${f}.kernelTCP`);
  if (m.swappiness !== undefined) plan.ignored.push(`${f}.swappiness`);
  if (m.disableOOMKiller) plan.ignored.push(`${f}.disableOOMKiller`);
}

function v2Cpu(c: LinuxCPU, plan: V2Plan): void {
  const f = `${FIELD}.cpu`;
  if (c.realtimePeriod || c.realtimeRuntime) {
    throw resourceError(`${f}.realtimeRuntime`, 'realtime scheduling limits are not available on cgroup v2');
  }
  const weight = cpuSharesToWeight(c.shares ?? 0);
  if (weight) plan.writes.push(w('', 'cpu.weight', String(weight), `${f}.shares`));
  if (c.idle !== undefined) plan.writes.push(w('', 'cpu.idle', String(c.idle), `${f}.idle`));
  if (c.quota || c.period) {
    // "max" keeps the quota unlimited when only the period is given (or quota is -1).
    let v = c.quota && c.quota > 0 ? String(c.quota) : 'max';
    if (c.period) v += ` ${c.period}`;
    plan.writes.push(w('', 'cpu.max', v, c.quota ? `${f}.quota` : `${f}.period`));
  }
  // After cpu.max: the kernel refuses a burst larger than the quota in force.
  if (c.burst !== undefined) plan.writes.push(w('', 'cpu.max.burst', String(c.burst), `${f}.burst`));
  if (c.cpus) plan.writes.push(w('', 'cpuset.cpus', c.cpus, `${f}.cpus`));
  if (c.mems) plan.writes.push(w('', 'cpuset.mems', c.mems, `${f}.mems`));
}

function v2Io(b: LinuxBlockIO, plan: V2Plan): void {
  const f = `${FIELD}.blockIO`;
  // BFQ takes the v1 scale (1..1000) as is; without BFQ io.weight wants 1..10000.
  if (b.weight) {
    plan.writes.push(w('', 'io.bfq.weight', String(b.weight), `${f}.weight`, { fallback: w('', 'io.weight', String(blkioWeightToIoWeight(b.weight)), `${f}.weight`) }));
  }
  if (b.leafWeight) plan.ignored.push(`${f}.leafWeight`);
  for (const [i, d] of (b.weightDevice ?? []).entries()) {
    if (d.weight) plan.writes.push(w('', 'io.bfq.weight', `${d.major}:${d.minor} ${d.weight}`, `${f}.weightDevice.${i}.weight`));
    if (d.leafWeight) plan.ignored.push(`${f}.weightDevice.${i}.leafWeight`);
  }
  const throttles: Array<[keyof LinuxBlockIO, string]> = [
    ['throttleReadBpsDevice', 'rbps'],
    ['throttleWriteBpsDevice', 'wbps'],
    ['throttleReadIOPSDevice', 'riops'],
    ['throttleWriteIOPSDevice', 'wiops'],
  ];
  for (const [key, name] of throttles) {
    const list = b[key] as Array<{ major: number; minor: number; rate: number }> | undefined;
    for (const [i, t] of (list ?? []).entries()) {
      // rate 0 means "no limit" in the v1 files; io.max spells it "max".
      plan.writes.push(w('', 'io.max', `${t.major}:${t.minor} ${name}=${t.rate === 0 ? 'max' : t.rate}`, `${f}.${key}.${i}`));
    }
  }
}
