// src/resctrl against a temp directory standing in for the resctrl mount (this host has no
// resctrl): group naming, schemata rules of config-linux.md "IntelRdt", tasks, monitoring,
// pre-configured closID groups, and removal of only what tsrun made. The update side
// (mergeResources, rdtFromFlags) is pure and tested here too.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  addTask, cacheAndBandwidthLines, removeIntelRdt, resctrlMountFrom, schemataMismatches, setupIntelRdt, updateIntelRdt,
  type RdtOptions,
} from '../../src/resctrl/index.js';
import { mergedForUpdate, mergeResources, rdtFromFlags } from '../../src/container/update.js';

let root: string;
let opts: RdtOptions;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tsrun-fake-resctrl-'));
  mkdirSync(join(root, 'info'));
  // A plain directory is not emptied by rmdir as a resctrl group is: remove it whole.
  opts = { root, removeDir: (d) => rmSync(d, { recursive: true }) };
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const read = (...p: string[]): string => readFileSync(join(root, ...p), 'utf8');

describe('resctrl mount discovery (temp dir stands in for resctrl)', () => {
  it('finds the resctrl line of mountinfo, unescaping the mount point; null without one', () => {
    const mi = [
      '22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda1 rw',
      '40 22 0:35 / /sys/fs/res\\040ctrl rw,relatime shared:20 - resctrl resctrl rw,mba_MBps',
    ].join('\n');
    expect(resctrlMountFrom(mi)).toBe('/sys/fs/res ctrl');
    expect(resctrlMountFrom(mi.split('\n')[0]!)).toBeNull();
  });

  it('no resctrl: setup fails naming /linux/intelRdt, in runc\'s words', () => {
    expect(() => setupIntelRdt({ l3CacheSchema: 'L3:0=f' }, 'c1', { root: null })).toThrow(
      /^\/linux\/intelRdt: intelRdt is specified in config, but Intel RDT is not supported or enabled/,
    );
  });
});

describe('schemata rules (config-linux.md "IntelRdt")', () => {
  it('combines l3CacheSchema and memBwSchema; an MB: line of l3CacheSchema yields to memBwSchema', () => {
    expect(cacheAndBandwidthLines({ l3CacheSchema: 'L3:0=f0', memBwSchema: 'MB:0=20' })).toEqual(['L3:0=f0', 'MB:0=20']);
    expect(cacheAndBandwidthLines({ l3CacheSchema: 'L3:0=f0\nMB:0=90', memBwSchema: 'MB:0=20' })).toEqual(['L3:0=f0', 'MB:0=20']);
    expect(cacheAndBandwidthLines({ l3CacheSchema: 'L3:0=f0\nMB:0=90' })).toEqual(['L3:0=f0', 'MB:0=90']);
    expect(cacheAndBandwidthLines({})).toEqual([]);
  });

  it('compares against the kernel\'s padded output by value', () => {
    const kernel = 'L3:0=007f0;1=0001f\nMB:0=  20;1=  70\n';
    expect(schemataMismatches(['L3:0=7f0;1=1f', 'MB:0=20;1=70'], kernel)).toEqual([]);
    expect(schemataMismatches(['L3:0=7f0;1=3f', 'MB:0=20'], kernel)).toEqual(['L3:0=7f0;1=3f']);
    expect(schemataMismatches(['L2:0=f'], kernel)).toEqual(['L2:0=f']);
  });
});

describe('the container\'s group in a stand-in resctrl root', () => {
  it('no closID: a group named after the container, schemata written, pid in tasks, removed at delete', () => {
    const s = setupIntelRdt({ l3CacheSchema: 'L3:0=f0', memBwSchema: 'MB:0=20' }, 'c1', opts);
    expect(s).toEqual({ group: join(root, 'c1'), createdGroup: true, monitor: null });
    expect(read('c1', 'schemata')).toBe('L3:0=f0\nMB:0=20\n');
    addTask(s, 4242);
    expect(read('c1', 'tasks')).toBe('4242\n');
    removeIntelRdt(s, opts);
    expect(existsSync(join(root, 'c1'))).toBe(false);
  });

  it('the schemata field is written last, over l3CacheSchema/memBwSchema', () => {
    setupIntelRdt({ l3CacheSchema: 'L3:0=f0', schemata: ['L3:0=ff', 'L2:0=f'] }, 'c2', opts);
    expect(read('c2', 'schemata')).toBe('L3:0=ff\nL2:0=f\n');
  });

  it('no schema fields: the group is made but schemata is not written', () => {
    setupIntelRdt({}, 'c3', opts);
    expect(existsSync(join(root, 'c3'))).toBe(true);
    expect(existsSync(join(root, 'c3', 'schemata'))).toBe(false);
  });

  it('a pre-configured closID group is joined, checked and left in place at delete', () => {
    mkdirSync(join(root, 'shared', 'mon_groups'), { recursive: true });
    writeFileSync(join(root, 'shared', 'schemata'), 'L3:0=0ff\nMB:0= 50\n');
    const s = setupIntelRdt({ closID: 'shared', l3CacheSchema: 'L3:0=ff', memBwSchema: 'MB:0=50', enableMonitoring: true }, 'c5', opts);
    expect(s).toEqual({ group: join(root, 'shared'), createdGroup: false, monitor: join(root, 'shared', 'mon_groups', 'c5') });
    expect(read('shared', 'schemata')).toBe('L3:0=0ff\nMB:0= 50\n');
    addTask(s, 7);
    expect(read('shared', 'mon_groups', 'c5', 'tasks')).toBe('7\n');
    removeIntelRdt(s, opts);
    expect(existsSync(join(root, 'shared', 'mon_groups', 'c5'))).toBe(false);
    expect(existsSync(join(root, 'shared', 'schemata'))).toBe(true);
  });

  it('a pre-configured closID group whose schemata differ is refused, untouched', () => {
    mkdirSync(join(root, 'shared'));
    writeFileSync(join(root, 'shared', 'schemata'), 'L3:0=0ff\n');
    expect(() => setupIntelRdt({ closID: 'shared', l3CacheSchema: 'L3:0=f' }, 'c6', opts)).toThrow(/closID group "shared" exists and its schemata do not match "L3:0=f"/);
    expect(read('shared', 'schemata')).toBe('L3:0=0ff\n');
  });

  it('a closID without schemata must name an existing group', () => {
    expect(() => setupIntelRdt({ closID: 'nope' }, 'c7', opts)).toThrow(/\/linux\/intelRdt\/closID: no pre-configured resctrl group "nope"/);
    expect(existsSync(join(root, 'nope'))).toBe(false);
  });

  it('refuses group names that leave the mount or hit resctrl\'s own files, and a memBwSchema not starting with MB:', () => {
    for (const closID of ['../etc', 'a/b', '..', 'info', 'mon_groups', '']) {
      expect(() => setupIntelRdt({ closID, l3CacheSchema: 'L3:0=f' }, 'c8', opts)).toThrow(/\/linux\/intelRdt\/closID: .* is not a valid resctrl group name/);
    }
    expect(() => setupIntelRdt({ memBwSchema: 'L3:0=f' }, 'c8', opts)).toThrow(/\/linux\/intelRdt\/memBwSchema: must start with "MB:"/);
    expect(() => setupIntelRdt({}, '..', opts)).toThrow(/not a valid resctrl group name/);
  });

  it('a failure after the group was made removes it (monitoring on a resctrl without mon_groups)', () => {
    expect(() => setupIntelRdt({ l3CacheSchema: 'L3:0=f', enableMonitoring: true }, 'c9', opts)).toThrow(/\/linux\/intelRdt\/enableMonitoring: creating .*mon_groups\/c9/);
    expect(existsSync(join(root, 'c9'))).toBe(false);
  });
});

describe('state read back from state.json (stand-in resctrl root)', () => {
  it('a group outside the resctrl mount, or a bad shape, is never removed or written', () => {
    const outside = mkdtempSync(join(tmpdir(), 'tsrun-not-resctrl-'));
    try {
      removeIntelRdt({ group: outside, createdGroup: true, monitor: null }, opts);
      removeIntelRdt({ group: join(root, 'g'), createdGroup: true, monitor: outside }, opts);
      removeIntelRdt({ group: join(root, '..'), createdGroup: true, monitor: null }, opts);
      removeIntelRdt(5 as never, opts);
      expect(existsSync(outside)).toBe(true);
      expect(existsSync(root)).toBe(true);
      expect(() => updateIntelRdt({ group: outside, createdGroup: true, monitor: null }, 'x', 1, { l3CacheSchema: 'L3:0=1' }, opts)).toThrow(/is not a group of the resctrl mount/);
      expect(existsSync(join(outside, 'schemata'))).toBe(false);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});

describe('update --l3-cache-schema/--mem-bw-schema (stand-in resctrl root)', () => {
  it('a container without a group gets one named after it holding its init, then the schema (as runc)', () => {
    const s = updateIntelRdt(undefined, 'u1', 99, { memBwSchema: 'MB:0=30' }, opts);
    expect(s).toEqual({ group: join(root, 'u1'), createdGroup: true, monitor: null });
    expect(read('u1', 'tasks')).toBe('99\n');
    expect(read('u1', 'schemata')).toBe('MB:0=30\n');
  });

  it('an existing group gets the new schema; a group gone from resctrl is an error', () => {
    const s = setupIntelRdt({ l3CacheSchema: 'L3:0=f' }, 'u2', opts);
    updateIntelRdt(s, 'u2', 1, { l3CacheSchema: 'L3:0=3' }, opts);
    expect(read('u2', 'schemata')).toBe('L3:0=3\n');
    rmSync(s.group, { recursive: true });
    expect(() => updateIntelRdt(s, 'u2', 1, { l3CacheSchema: 'L3:0=3' }, opts)).toThrow(/--l3-cache-schema: the container's resctrl group .* is gone/);
  });

  it('no resctrl: the error names the flag', () => {
    expect(() => updateIntelRdt(undefined, 'u3', 1, { l3CacheSchema: 'L3:0=3' }, { root: null })).toThrow(/^--l3-cache-schema: intelRdt is specified/);
  });

  it('rdtFromFlags: only the flags given; a memory bandwidth schema must start with MB:', () => {
    expect(rdtFromFlags({})).toBeNull();
    expect(rdtFromFlags({ 'l3-cache-schema': 'L3:0=f' })).toEqual({ l3CacheSchema: 'L3:0=f' });
    expect(rdtFromFlags({ 'mem-bw-schema': 'MB:0=10', 'l3-cache-schema': '' })).toEqual({ memBwSchema: 'MB:0=10' });
    expect(() => rdtFromFlags({ 'mem-bw-schema': '0=10' })).toThrow('--mem-bw-schema: must start with "MB:"');
  });
});

describe('update keeps earlier limits (mergeResources)', () => {
  it('objects merge field by field, arrays and scalars replace, the inputs stay as they were', () => {
    const base = { memory: { limit: 100, swap: 200 }, cpu: { shares: 512 }, unified: { 'a.b': '1' }, hugepageLimits: [{ pageSize: '2MB', limit: 1 }] };
    const change = { memory: { limit: 50 }, cpu: { quota: 20000 }, unified: { 'c.d': '2' }, hugepageLimits: [{ pageSize: '1GB', limit: 2 }] };
    const before = structuredClone(base);
    expect(mergeResources(base, change)).toEqual({
      memory: { limit: 50, swap: 200 },
      cpu: { shares: 512, quota: 20000 },
      unified: { 'a.b': '1', 'c.d': '2' },
      hugepageLimits: [{ pageSize: '1GB', limit: 2 }],
    });
    expect(base).toEqual(before);
    expect(mergeResources({}, { pids: { limit: 5 } })).toEqual({ pids: { limit: 5 } });
  });

  it('a saved memory+swap total below a new memory limit is dropped; one that still fits stays', () => {
    const saved = { memory: { limit: 64, swap: 64 }, pids: { limit: 10 } };
    expect(mergedForUpdate(saved, { memory: { limit: 96 } })).toEqual({ memory: { limit: 96 }, pids: { limit: 10 } });
    expect(mergedForUpdate(saved, { memory: { limit: -1 } })).toEqual({ memory: { limit: -1 }, pids: { limit: 10 } });
    expect(mergedForUpdate(saved, { memory: { limit: 32 } })).toEqual({ memory: { limit: 32, swap: 64 }, pids: { limit: 10 } });
    expect(mergedForUpdate({ memory: { limit: 64, swap: -1 } }, { memory: { limit: 96 } })).toEqual({ memory: { limit: 96, swap: -1 } });
    expect(mergedForUpdate(saved, { memory: { limit: 96, swap: 200 } })).toEqual({ memory: { limit: 96, swap: 200 }, pids: { limit: 10 } });
  });
});
