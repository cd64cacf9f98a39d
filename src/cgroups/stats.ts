/**
 * Reading a container's usage counters into runc's stats shape (types.ts). Missing files read as
 * 0: a controller the host lacks simply reports nothing.
 */

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupStats, MemoryEntry } from './types.js';
import { keyValues, readNumber, readOptional } from './fsops.js';

/** USER_HZ: cpuacct.stat counts in clock ticks of 1/100 s. */
const NS_PER_TICK = 10_000_000;

function hugetlbSizes(dir: string | undefined, suffix: string): string[] {
  if (!dir) return [];
  try {
    const re = new RegExp(`^hugetlb\\.([0-9]+[KMG]B)\\.${suffix.replace('.', '\\.')}$`);
    return readdirSync(dir).flatMap((f) => re.exec(f)?.[1] ?? []);
  } catch {
    return [];
  }
}

function entry(dir: string | undefined, prefix: string): MemoryEntry {
  if (!dir) return { limit: 0, usage: 0, max: 0, failcnt: 0 };
  const f = (name: string): number => readNumber(join(dir, `${prefix}.${name}`));
  return { limit: f('limit_in_bytes'), usage: f('usage_in_bytes'), max: f('max_usage_in_bytes'), failcnt: f('failcnt') };
}

export function v1Stats(paths: Record<string, string>): CgroupStats {
  const { cpu, cpuacct, memory: mem, pids } = paths;
  const cpuStat = keyValues(cpu ? readOptional(join(cpu, 'cpu.stat')) : undefined);
  const acct = keyValues(cpuacct ? readOptional(join(cpuacct, 'cpuacct.stat')) : undefined);
  const percpu = (cpuacct ? readOptional(join(cpuacct, 'cpuacct.usage_percpu')) ?? '' : '').split(' ').filter(Boolean).map(Number);
  const raw = keyValues(mem ? readOptional(join(mem, 'memory.stat')) : undefined);
  const oom = keyValues(mem ? readOptional(join(mem, 'memory.oom_control')) : undefined);
  const hugetlb: CgroupStats['hugetlb'] = {};
  if (paths.hugetlb) {
    for (const size of hugetlbSizes(paths.hugetlb, 'limit_in_bytes')) {
      const e = entry(paths.hugetlb, `hugetlb.${size}`);
      hugetlb[size] = { usage: e.usage, max: e.max, failcnt: e.failcnt };
    }
  } else if (paths['']) Object.assign(hugetlb, v2Hugetlb(paths['']));
  return {
    cpu: {
      usage: {
        total: cpuacct ? readNumber(join(cpuacct, 'cpuacct.usage')) : 0,
        percpu,
        kernel: (acct.system ?? 0) * NS_PER_TICK,
        user: (acct.user ?? 0) * NS_PER_TICK,
      },
      throttling: { periods: cpuStat.nr_periods ?? 0, throttledPeriods: cpuStat.nr_throttled ?? 0, throttledTime: cpuStat.throttled_time ?? 0 },
    },
    memory: {
      cache: raw.total_cache ?? raw.cache ?? 0,
      usage: entry(mem, 'memory'),
      swap: entry(mem, 'memory.memsw'),
      kernel: entry(mem, 'memory.kmem'),
      kernelTCP: entry(mem, 'memory.kmem.tcp'),
      raw,
      event_count: { oom_kill: oom.oom_kill ?? 0, under_oom: oom.under_oom ?? 0 },
    },
    pids: { current: pids ? readNumber(join(pids, 'pids.current')) : 0, limit: pids ? pidsLimit(join(pids, 'pids.max')) : 0 },
    hugetlb,
  };
}

/** runc reports an unlimited pids.max as 0 ("no limit"), unlike memory's max value. */
function pidsLimit(path: string): number {
  const v = readNumber(path);
  return v >= Number.MAX_SAFE_INTEGER ? 0 : v;
}

function v2Hugetlb(dir: string): CgroupStats['hugetlb'] {
  const out: CgroupStats['hugetlb'] = {};
  for (const size of hugetlbSizes(dir, 'max')) {
    out[size] = {
      usage: readNumber(join(dir, `hugetlb.${size}.current`)),
      max: readNumber(join(dir, `hugetlb.${size}.max`)),
      failcnt: keyValues(readOptional(join(dir, `hugetlb.${size}.events`))).max ?? 0,
    };
  }
  return out;
}

export function v2Stats(dir: string): CgroupStats {
  const cpu = keyValues(readOptional(join(dir, 'cpu.stat')));
  const raw = keyValues(readOptional(join(dir, 'memory.stat')));
  const events = keyValues(readOptional(join(dir, 'memory.events')));
  const n = (f: string): number => readNumber(join(dir, f));
  const zero: MemoryEntry = { limit: 0, usage: 0, max: 0, failcnt: 0 };
  return {
    cpu: {
      usage: { total: (cpu.usage_usec ?? 0) * 1000, percpu: [], kernel: (cpu.system_usec ?? 0) * 1000, user: (cpu.user_usec ?? 0) * 1000 },
      throttling: { periods: cpu.nr_periods ?? 0, throttledPeriods: cpu.nr_throttled ?? 0, throttledTime: (cpu.throttled_usec ?? 0) * 1000 },
    },
    memory: {
      cache: raw.file ?? 0,
      usage: { limit: n('memory.max'), usage: n('memory.current'), max: n('memory.peak'), failcnt: events.max ?? 0 },
      swap: { limit: n('memory.swap.max'), usage: n('memory.swap.current'), max: n('memory.swap.peak'), failcnt: 0 },
      kernel: zero,
      kernelTCP: zero,
      raw,
      event_count: events,
    },
    pids: { current: n('pids.current'), limit: pidsLimit(join(dir, 'pids.max')) },
    hugetlb: v2Hugetlb(dir),
  };
}
