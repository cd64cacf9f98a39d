/**
 * Shared shapes of the cgroup manager: one planned file write, the persisted state and the stats
 * record (`events --stats`, runc's JSON field names).
 */

/** One cgroupfs write produced by the pure converters (resources-v1.ts, resources-v2.ts). */
export interface CgroupWrite {
  /** v1: the controller whose hierarchy holds the file ("memory", "cpu", ...); v2: "" (unified). */
  controller: string;
  file: string;
  value: string;
  /** The spec field it comes from, for error messages: "linux.resources.memory.limit". */
  field: string;
  /** Skip silently when the file does not exist (deprecated or kernel-optional knobs). */
  optional?: boolean;
  /** Written instead when `file` does not exist (e.g. io.bfq.weight → io.weight). */
  fallback?: CgroupWrite;
}

export interface CgroupState {
  mode: 'v1' | 'v2';
  /** v1: controller → absolute directory; v2: { "": directory }. Hybrid hosts add "" for the
   *  unified directory next to the v1 controllers. */
  paths: Record<string, string>;
  /** The highest directory `create` had to make above each container directory (mkdir -p), so
   *  `destroy` removes the parents tsrun made and only those. Absent in older state files. */
  created?: string[];
}

/** The cgroup part of runc's `events --stats` record (runc types/events.go field names); the
 *  events command wraps it as {"type":"stats","id":...,"data":{...}}. */
export interface CgroupStats {
  cpu: {
    usage: { total: number; percpu: number[]; kernel: number; user: number };
    throttling: { periods: number; throttledPeriods: number; throttledTime: number };
  };
  memory: {
    cache: number;
    usage: MemoryEntry;
    swap: MemoryEntry;
    kernel: MemoryEntry;
    kernelTCP: MemoryEntry;
    raw: Record<string, number>;
    /** v2 memory.events counters (low, high, max, oom, oom_kill); v1: oom_kill from
     *  memory.oom_control. What `events` watches for OOM. */
    event_count: Record<string, number>;
  };
  pids: { current: number; limit: number };
  hugetlb: Record<string, { usage: number; max: number; failcnt: number }>;
}

export interface MemoryEntry {
  limit: number;
  usage: number;
  max: number;
  failcnt: number;
}
