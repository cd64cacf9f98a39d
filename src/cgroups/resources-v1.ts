/**
 * linux.resources → cgroup v1 file writes, as runc's libcontainer/cgroups/fs maps them. Pure: the
 * manager (v1.ts) performs the writes in this order and names file and field when one fails.
 */

import type { LinuxResources, LinuxMemory, LinuxCPU, LinuxBlockIO } from '../spec/types.js';
import type { CgroupWrite } from './types.js';
import { FIELD, checkPageSize, rdmaLine, resourceError, w } from './convert.js';
import { normalizeDeviceRules, v1DeviceLine, type DeviceRule } from './devices.js';

export interface V1Options {
  /** Current memory.limit_in_bytes, for ordering memory vs memsw writes on update (-1 = unlimited). */
  currentMemoryLimit?: number;
  /** Device rules to write (effectiveDeviceRules at create); default: resources.devices as given. */
  deviceRules?: DeviceRule[];
}

export function v1Writes(r: LinuxResources, opts: V1Options = {}): CgroupWrite[] {
  if (r.unified && Object.keys(r.unified).length > 0) {
    throw resourceError(`${FIELD}.unified`, 'cgroup v2 files cannot be set on a cgroup v1 host');
  }
  const out: CgroupWrite[] = [];
  const rules = opts.deviceRules ?? (r.devices ? normalizeDeviceRules(r.devices) : undefined);
  if (rules) out.push(...v1Devices(rules));
  if (r.memory) out.push(...v1Memory(r.memory, opts.currentMemoryLimit));
  if (r.cpu) out.push(...v1Cpu(r.cpu));
  if (r.pids) out.push(w('pids', 'pids.max', r.pids.limit > 0 ? String(r.pids.limit) : 'max', `${FIELD}.pids.limit`));
  if (r.blockIO) out.push(...v1BlockIO(r.blockIO));
  for (const [i, h] of (r.hugepageLimits ?? []).entries()) {
    const size = checkPageSize(h.pageSize, `${FIELD}.hugepageLimits.${i}.pageSize`);
    out.push(w('hugetlb', `hugetlb.${size}.limit_in_bytes`, String(h.limit), `${FIELD}.hugepageLimits.${i}.limit`));
  }
  for (const [dev, lim] of Object.entries(r.rdma ?? {})) {
    const line = rdmaLine(dev, lim, `${FIELD}.rdma.${dev}`);
    if (line) out.push(w('rdma', 'rdma.max', line, `${FIELD}.rdma.${dev}`));
  }
  if (r.network?.classID !== undefined) out.push(w('net_cls', 'net_cls.classid', String(r.network.classID), `${FIELD}.network.classID`));
  for (const [i, p] of (r.network?.priorities ?? []).entries()) {
    out.push(w('net_prio', 'net_prio.ifpriomap', `${p.name} ${p.priority}`, `${FIELD}.network.priorities.${i}`));
  }
  return out;
}

/** Deny everything first, then replay the rules in order (the kernel applies each write to the
 *  current list, so later entries override earlier ones, as the spec orders them). */
export function v1Devices(rules: readonly DeviceRule[]): CgroupWrite[] {
  const out = [w('devices', 'devices.deny', 'a', `${FIELD}.devices`)];
  rules.forEach((rule, i) => {
    out.push(w('devices', rule.allow ? 'devices.allow' : 'devices.deny', v1DeviceLine(rule), `${FIELD}.devices.${i}`));
  });
  return out;
}

function v1Memory(m: LinuxMemory, current = 0): CgroupWrite[] {
  const f = `${FIELD}.memory`;
  const out: CgroupWrite[] = [];
  const limit = m.limit ?? 0;
  let swap = m.swap ?? 0;
  if (limit === -1 && swap === 0) swap = -1; // unlimited memory with no swap given: lift memsw too
  const mem = limit !== 0 ? w('memory', 'memory.limit_in_bytes', String(limit), `${f}.limit`) : undefined;
  const memsw = swap !== 0 ? w('memory', 'memory.memsw.limit_in_bytes', String(swap), `${f}.swap`) : undefined;
  // The kernel keeps memsw >= memory at every moment: raise memsw first when growing, lower it last.
  const memswFirst = swap === -1 || (current !== -1 && current < swap);
  if (mem && memsw) out.push(...(memswFirst ? [memsw, mem] : [mem, memsw]));
  else if (mem) out.push(mem);
  else if (memsw) out.push(memsw);
  if (m.reservation !== undefined && m.reservation !== 0) out.push(w('memory', 'memory.soft_limit_in_bytes', String(m.reservation), `${f}.reservation`));
  // Kernel memory limits are deprecated and gone from recent kernels: written only where they exist.
  if (m.kernel) out.push(w('memory', 'memory.kmem.limit_in_bytes', String(m.kernel), `${f}.kernel`, { optional: true }));
  if (m.kernelTCP) out.push(w('memory', 'memory.kmem.tcp.limit_in_bytes', String(m.kernelTCP), `${f}.kernelTCP`, { optional: true }));
  if (m.swappiness !== undefined) {
    if (m.swappiness < 0 || m.swappiness > 100) throw resourceError(`${f}.swappiness`, `invalid value ${m.swappiness} (want 0 to 100)`);
    out.push(w('memory', 'memory.swappiness', String(m.swappiness), `${f}.swappiness`));
  }
  if (m.disableOOMKiller) out.push(w('memory', 'memory.oom_control', '1', `${f}.disableOOMKiller`));
  // use_hierarchy is always 1 and read-only since Linux 6.x: best effort.
  if (m.useHierarchy) out.push(w('memory', 'memory.use_hierarchy', '1', `${f}.useHierarchy`, { optional: true }));
  return out;
}

function v1Cpu(c: LinuxCPU): CgroupWrite[] {
  const f = `${FIELD}.cpu`;
  const out: CgroupWrite[] = [];
  if (c.shares) out.push(w('cpu', 'cpu.shares', String(c.shares), `${f}.shares`));
  // Period before quota, as runc: a quota is checked against the period in force.
  if (c.period) out.push(w('cpu', 'cpu.cfs_period_us', String(c.period), `${f}.period`));
  if (c.quota) out.push(w('cpu', 'cpu.cfs_quota_us', String(c.quota), `${f}.quota`));
  if (c.burst !== undefined) out.push(w('cpu', 'cpu.cfs_burst_us', String(c.burst), `${f}.burst`));
  // rt_period before rt_runtime: the runtime must fit in the period.
  if (c.realtimePeriod) out.push(w('cpu', 'cpu.rt_period_us', String(c.realtimePeriod), `${f}.realtimePeriod`));
  if (c.realtimeRuntime) out.push(w('cpu', 'cpu.rt_runtime_us', String(c.realtimeRuntime), `${f}.realtimeRuntime`));
  if (c.idle !== undefined) out.push(w('cpu', 'cpu.idle', String(c.idle), `${f}.idle`));
  if (c.cpus) out.push(w('cpuset', 'cpuset.cpus', c.cpus, `${f}.cpus`));
  if (c.mems) out.push(w('cpuset', 'cpuset.mems', c.mems, `${f}.mems`));
  return out;
}

function v1BlockIO(b: LinuxBlockIO): CgroupWrite[] {
  const f = `${FIELD}.blockIO`;
  const out: CgroupWrite[] = [];
  // CFQ's blkio.weight is gone since Linux 5.0; BFQ's blkio.bfq.weight takes its place.
  if (b.weight) out.push(w('blkio', 'blkio.weight', String(b.weight), `${f}.weight`, { fallback: w('blkio', 'blkio.bfq.weight', String(b.weight), `${f}.weight`) }));
  if (b.leafWeight) out.push(w('blkio', 'blkio.leaf_weight', String(b.leafWeight), `${f}.leafWeight`));
  for (const [i, d] of (b.weightDevice ?? []).entries()) {
    const dev = `${d.major}:${d.minor}`;
    if (d.weight) {
      const v = `${dev} ${d.weight}`;
      out.push(w('blkio', 'blkio.weight_device', v, `${f}.weightDevice.${i}.weight`, { fallback: w('blkio', 'blkio.bfq.weight_device', v, `${f}.weightDevice.${i}.weight`) }));
    }
    if (d.leafWeight) out.push(w('blkio', 'blkio.leaf_weight_device', `${dev} ${d.leafWeight}`, `${f}.weightDevice.${i}.leafWeight`));
  }
  const throttles: Array<[keyof LinuxBlockIO, string]> = [
    ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device'],
    ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device'],
    ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device'],
    ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device'],
  ];
  for (const [key, file] of throttles) {
    const list = b[key] as Array<{ major: number; minor: number; rate: number }> | undefined;
    for (const [i, t] of (list ?? []).entries()) out.push(w('blkio', file, `${t.major}:${t.minor} ${t.rate}`, `${f}.${key}.${i}`));
  }
  return out;
}
