import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { v1Stats, v2Stats } from '../../src/cgroups/stats.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tsrun-cgstats-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function files(dir: string, map: Record<string, string>): string {
  mkdirSync(dir, { recursive: true });
  for (const [f, v] of Object.entries(map)) writeFileSync(join(dir, f), v);
  return dir;
}

describe('stats', () => {
  it('v2: usec become ns, "max" is unlimited, memory.events is the event count', () => {
    const dir = files(join(root, 'c'), {
      'cpu.stat': 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 10\nnr_throttled 4\nthrottled_usec 250\n',
      'memory.current': '4096\n',
      'memory.max': 'max\n',
      'memory.peak': '8192\n',
      'memory.stat': 'anon 100\nfile 300\n',
      'memory.events': 'low 0\nhigh 0\nmax 7\noom 2\noom_kill 1\n',
      'pids.current': '3\n',
      'pids.max': '10\n',
      'hugetlb.2MB.current': '0\n',
      'hugetlb.2MB.max': '2097152\n',
      'hugetlb.2MB.events': 'max 1\n',
    });
    const s = v2Stats(dir);
    expect(s.cpu.usage).toEqual({ total: 1_500_000, percpu: [], kernel: 500_000, user: 1_000_000 });
    expect(s.cpu.throttling).toEqual({ periods: 10, throttledPeriods: 4, throttledTime: 250_000 });
    expect(s.memory.usage).toEqual({ limit: Number.MAX_SAFE_INTEGER, usage: 4096, max: 8192, failcnt: 7 });
    expect(s.memory.cache).toBe(300);
    expect(s.memory.event_count.oom_kill).toBe(1);
    expect(s.pids).toEqual({ current: 3, limit: 10 });
    expect(s.hugetlb).toEqual({ '2MB': { usage: 0, max: 2097152, failcnt: 1 } });
  });

  it('v1: cpuacct ticks become ns, oom_kill from memory.oom_control, entries per memory prefix', () => {
    const paths = {
      cpu: files(join(root, 'cpu/c'), { 'cpu.stat': 'nr_periods 5\nnr_throttled 2\nthrottled_time 999\n' }),
      cpuacct: files(join(root, 'cpuacct/c'), { 'cpuacct.usage': '123456\n', 'cpuacct.usage_percpu': '100000 23456 \n', 'cpuacct.stat': 'user 3\nsystem 1\n' }),
      memory: files(join(root, 'memory/c'), {
        'memory.limit_in_bytes': '1048576\n',
        'memory.usage_in_bytes': '2048\n',
        'memory.max_usage_in_bytes': '4096\n',
        'memory.failcnt': '2\n',
        'memory.memsw.limit_in_bytes': '2097152\n',
        'memory.stat': 'cache 11\ntotal_cache 12\n',
        'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 3\n',
      }),
      pids: files(join(root, 'pids/c'), { 'pids.current': '1\n', 'pids.max': 'max\n' }),
    };
    const s = v1Stats(paths);
    expect(s.cpu.usage).toEqual({ total: 123456, percpu: [100000, 23456], kernel: 10_000_000, user: 30_000_000 });
    expect(s.cpu.throttling).toEqual({ periods: 5, throttledPeriods: 2, throttledTime: 999 });
    expect(s.memory.usage).toEqual({ limit: 1048576, usage: 2048, max: 4096, failcnt: 2 });
    expect(s.memory.swap.limit).toBe(2097152);
    expect(s.memory.cache).toBe(12);
    expect(s.memory.event_count.oom_kill).toBe(3);
    expect(s.pids).toEqual({ current: 1, limit: 0 }); // unlimited, as runc reports it
  });
});
