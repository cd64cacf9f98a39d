import { describe, expect, it } from 'vitest';
import { blkioWeightToIoWeight, cpuSharesToWeight, swapToV2 } from '../../src/cgroups/convert.js';
import { v1Writes } from '../../src/cgroups/resources-v1.js';
import { checkUnifiedKey, v2Writes } from '../../src/cgroups/resources-v2.js';
import type { CgroupWrite } from '../../src/cgroups/types.js';

const files = (ws: CgroupWrite[]): string[] => ws.map((w) => `${w.controller ? w.controller + ':' : ''}${w.file}=${w.value}`);

describe('conversions', () => {
  it('cpu shares → weight meets at the defaults and both ends, and is monotonic', () => {
    expect(cpuSharesToWeight(0)).toBe(0);
    expect(cpuSharesToWeight(2)).toBe(1);
    expect(cpuSharesToWeight(1024)).toBe(100);
    expect(cpuSharesToWeight(262144)).toBe(10000);
    expect(cpuSharesToWeight(1 << 20)).toBe(10000);
    let prev = 0;
    for (let s = 2; s <= 262144; s = Math.ceil(s * 1.3)) {
      const v = cpuSharesToWeight(s);
      expect(v).toBeGreaterThanOrEqual(prev);
      prev = v;
    }
  });

  it('blkio weight → io.weight is linear from 10..1000 to 1..10000', () => {
    expect(blkioWeightToIoWeight(10)).toBe(1);
    expect(blkioWeightToIoWeight(1000)).toBe(10000);
    expect(blkioWeightToIoWeight(500)).toBe(4950);
  });

  it('memory+swap (v1 meaning) → swap alone (v2), with runc\'s refusals', () => {
    expect(swapToV2(0, -1)).toBe(-1);
    expect(swapToV2(-1, 100)).toBe(-1);
    expect(swapToV2(0, 100)).toBe(0);
    expect(swapToV2(300, 100)).toBe(200);
    expect(() => swapToV2(300, 0)).toThrow(/memory\/swap: a swap limit needs a memory limit/);
    expect(() => swapToV2(50, 100)).toThrow(/below the memory limit/);
  });
});

describe('v1 writes', () => {
  it('maps every memory field; memsw is raised before memory when growing', () => {
    const ws = v1Writes({ memory: { limit: 100, swap: 200, reservation: 50, kernelTCP: 10, swappiness: 30, disableOOMKiller: true, useHierarchy: true } }, { currentMemoryLimit: 50 });
    expect(files(ws)).toEqual([
      'memory:memory.memsw.limit_in_bytes=200',
      'memory:memory.limit_in_bytes=100',
      'memory:memory.soft_limit_in_bytes=50',
      'memory:memory.kmem.tcp.limit_in_bytes=10',
      'memory:memory.swappiness=30',
      'memory:memory.oom_control=1',
      'memory:memory.use_hierarchy=1',
    ]);
    // Shrinking (current memsw above the new one): memory first, then memsw.
    const shrink = v1Writes({ memory: { limit: 100, swap: 200 } }, { currentMemoryLimit: 500 });
    expect(files(shrink)).toEqual(['memory:memory.limit_in_bytes=100', 'memory:memory.memsw.limit_in_bytes=200']);
    // Unlimited memory lifts memsw too, first.
    expect(files(v1Writes({ memory: { limit: -1 } }))).toEqual(['memory:memory.memsw.limit_in_bytes=-1', 'memory:memory.limit_in_bytes=-1']);
  });

  it('refuses swappiness outside 0..100 naming the field', () => {
    expect(() => v1Writes({ memory: { swappiness: 101 } })).toThrow(/\/linux\/resources\/memory\/swappiness: invalid value 101/);
  });

  it('maps cpu, cpuset, pids, blkio, hugetlb, rdma, network', () => {
    const ws = v1Writes({
      cpu: { shares: 512, quota: 50000, period: 100000, burst: 1000, realtimePeriod: 1000000, realtimeRuntime: 950000, cpus: '0-1', mems: '0', idle: 0 },
      pids: { limit: 0 },
      blockIO: { weight: 300, leafWeight: 200, weightDevice: [{ major: 8, minor: 0, weight: 100 }], throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1024 }], throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 10 }] },
      hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }],
      rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 } },
      network: { classID: 1048577, priorities: [{ name: 'eth0', priority: 5 }] },
    });
    expect(files(ws)).toEqual([
      'cpu:cpu.shares=512',
      'cpu:cpu.cfs_period_us=100000',
      'cpu:cpu.cfs_quota_us=50000',
      'cpu:cpu.cfs_burst_us=1000',
      'cpu:cpu.rt_period_us=1000000',
      'cpu:cpu.rt_runtime_us=950000',
      'cpu:cpu.idle=0',
      'cpuset:cpuset.cpus=0-1',
      'cpuset:cpuset.mems=0',
      'pids:pids.max=max',
      'blkio:blkio.weight=300',
      'blkio:blkio.leaf_weight=200',
      'blkio:blkio.weight_device=8:0 100',
      'blkio:blkio.throttle.read_bps_device=8:0 1024',
      'blkio:blkio.throttle.write_iops_device=8:16 10',
      'hugetlb:hugetlb.2MB.limit_in_bytes=4194304',
      'rdma:rdma.max=mlx5_1 hca_handle=3 hca_object=10000',
      'net_cls:net_cls.classid=1048577',
      'net_prio:net_prio.ifpriomap=eth0 5',
    ]);
    expect(ws.find((w) => w.file === 'blkio.weight')?.fallback?.file).toBe('blkio.bfq.weight');
    expect(ws.find((w) => w.file === 'pids.max')?.field).toBe('linux.resources.pids.limit');
  });

  it('devices: deny all first, then the rules in order', () => {
    const ws = v1Writes({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }, { allow: true, type: 'b', major: 8, access: 'm' }] });
    expect(files(ws)).toEqual(['devices:devices.deny=a', 'devices:devices.deny=a *:* rwm', 'devices:devices.allow=c 1:3 rw', 'devices:devices.allow=b 8:* m']);
  });

  it('refuses unified, a bad page size and a bad device access, naming the field', () => {
    expect(() => v1Writes({ unified: { 'memory.high': '1' } })).toThrow(/\/linux\/resources\/unified: .*cgroup v1/);
    expect(() => v1Writes({ hugepageLimits: [{ pageSize: '2MB/../x', limit: 1 }] })).toThrow(/hugepageLimits\/0\/pageSize/);
    expect(() => v1Writes({ devices: [{ allow: true, access: 'rwx' }] })).toThrow(/devices\/0\/access/);
  });
});

describe('v2 writes', () => {
  it('memory: swap.max holds swap alone, limit = swap means no swap', () => {
    expect(files(v2Writes({ memory: { limit: 100, swap: 300, reservation: 20 } }).writes)).toEqual(['memory.swap.max=200', 'memory.max=100', 'memory.low=20']);
    expect(files(v2Writes({ memory: { limit: 100, swap: 100 } }).writes)).toEqual(['memory.swap.max=0', 'memory.max=100']);
    expect(files(v2Writes({ memory: { limit: -1 } }).writes)).toEqual(['memory.swap.max=max', 'memory.max=max']);
    const p = v2Writes({ memory: { limit: 100, swappiness: 10, disableOOMKiller: true, kernel: 5 } });
    expect(p.ignored).toEqual(['linux.resources.memory.kernel', 'linux.resources.memory.swappiness', 'linux.resources.memory.disableOOMKiller']);
  });

  it('cpu: weight from shares, cpu.max "quota period", burst after it', () => {
    expect(files(v2Writes({ cpu: { shares: 1024, quota: 20000, period: 100000, burst: 5000, idle: 1, cpus: '1', mems: '0' } }).writes)).toEqual([
      'cpu.weight=100',
      'cpu.idle=1',
      'cpu.max=20000 100000',
      'cpu.max.burst=5000',
      'cpuset.cpus=1',
      'cpuset.mems=0',
    ]);
    expect(files(v2Writes({ cpu: { period: 50000 } }).writes)).toEqual(['cpu.max=max 50000']);
    expect(files(v2Writes({ cpu: { quota: -1 } }).writes)).toEqual(['cpu.max=max']);
    expect(() => v2Writes({ cpu: { realtimeRuntime: 1 } })).toThrow(/realtime/);
  });

  it('io: bfq weight with io.weight fallback, throttles in io.max', () => {
    const p = v2Writes({ blockIO: { weight: 500, leafWeight: 3, weightDevice: [{ major: 8, minor: 0, weight: 50 }], throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 0 }], throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 2048 }], throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 7 }] } });
    expect(files(p.writes)).toEqual(['io.bfq.weight=500', 'io.bfq.weight=8:0 50', 'io.max=8:0 rbps=max', 'io.max=8:0 wbps=2048', 'io.max=8:0 riops=7']);
    expect(p.writes[0]?.fallback).toMatchObject({ file: 'io.weight', value: '4950' });
    expect(p.ignored).toEqual(['linux.resources.blockIO.leafWeight']);
  });

  it('pids, hugetlb (+rsvd where present), rdma; network ignored; unified last', () => {
    const p = v2Writes({ unified: { 'memory.high': '5000' }, pids: { limit: 32 }, hugepageLimits: [{ pageSize: '1GB', limit: 0 }], rdma: { mlx: { hcaHandles: 1 } }, network: { classID: 1 } });
    expect(files(p.writes)).toEqual(['pids.max=32', 'hugetlb.1GB.max=0', 'hugetlb.1GB.rsvd.max=0', 'rdma.max=mlx hca_handle=1', 'memory.high=5000']);
    expect(p.writes[2]?.optional).toBe(true);
    expect(p.ignored).toEqual(['linux.resources.network.classID']);
  });

  it('unified keys cannot escape the directory or touch the runtime\'s own files', () => {
    for (const bad of ['../memory.max', 'a/b', '..', '.', '', 'memory..max', 'cgroup.procs', 'cgroup.subtree_control', 'nodot']) {
      expect(() => checkUnifiedKey(bad), bad).toThrow(/\/linux\/resources\/unified/);
    }
    expect(checkUnifiedKey('memory.oom.group')).toBe('memory.oom.group');
  });
});
