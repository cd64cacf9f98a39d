// linux.memoryPolicy -> the plan's set_mempolicy arguments (mode | flags, node list expanded),
// for the container's process and for exec'd ones; what cannot be encoded is a config error
// naming the field. The kernel's own refusals are shown in test/integration/mempolicy.test.ts.
import { describe, expect, it } from 'vitest';
import { buildPlan, parseNodeList, type PlanContext } from '../../src/spec/plan.js';
import { buildExecPlan, execDefaults } from '../../src/spec/exec-plan.js';
import { ConfigError } from '../../src/errors.js';
import { featuresDocument } from '../../src/cli/features.js';
import type { LinuxMemoryPolicy, Spec } from '../../src/spec/types.js';

const ctx: PlanContext = { bundle: '/b', noPivot: false, lastCap: 40, nofile: null, cgroupMode: 'v2' };

function spec(mp?: LinuxMemoryPolicy): Spec {
  return { ociVersion: '1.3.0', root: { path: 'rootfs' }, process: { args: ['sh'], cwd: '/' }, linux: mp ? { memoryPolicy: mp } : {} };
}

function problems(s: Spec): string[] {
  try {
    buildPlan(s, ctx);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('buildPlan accepted the config');
}

describe('memoryPolicy in the plan', () => {
  it('mode ORed with the flags, nodes expanded; absent: null', () => {
    const p = buildPlan(spec({ mode: 'MPOL_BIND', nodes: '0-2,5', flags: ['MPOL_F_STATIC_NODES', 'MPOL_F_NUMA_BALANCING'] }), ctx);
    expect(p.init.process.memoryPolicy).toEqual({ mode: 2 | (1 << 15) | (1 << 13), nodes: [0, 1, 2, 5] });
    expect(buildPlan(spec({ mode: 'MPOL_LOCAL' }), ctx).init.process.memoryPolicy).toEqual({ mode: 4, nodes: [] });
    expect(buildPlan(spec({ mode: 'MPOL_WEIGHTED_INTERLEAVE', nodes: '1' }), ctx).init.process.memoryPolicy).toEqual({ mode: 6, nodes: [1] });
    expect(buildPlan(spec(), ctx).init.process.memoryPolicy).toBeNull();
  });

  it('an exec\'d process carries the container\'s policy (as runc)', () => {
    const s = spec({ mode: 'MPOL_PREFERRED', nodes: '0', flags: ['MPOL_F_RELATIVE_NODES'] });
    const d = execDefaults(s);
    const ectx = { ...ctx, initPid: 42, rootfs: '/b/rootfs', bundle: '/b' };
    expect(buildExecPlan(d, { args: ['id'], cwd: '/' }, ectx, buildPlan).init.process.memoryPolicy).toEqual({ mode: 1 | (1 << 14), nodes: [0] });
    // A state written before memoryPolicy was kept: no policy, not an error.
    delete d.memoryPolicy;
    expect(buildExecPlan(d, { args: ['id'], cwd: '/' }, ectx, buildPlan).init.process.memoryPolicy).toBeNull();
  });

  it('unknown mode or flag and nodes beyond the kernel limit are config errors naming the field', () => {
    expect(problems(spec({ mode: 'INTERLEAVE' as never, nodes: '0' }))).toEqual(['/linux/memoryPolicy/mode: invalid memory policy mode "INTERLEAVE"']);
    expect(problems(spec({ mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_STATIC_NODES', 'toString' as never] }))).toEqual([
      '/linux/memoryPolicy/flags/1: invalid memory policy flag "toString"',
    ]);
    expect(problems(spec({ mode: 'MPOL_BIND', nodes: '0-9876543210' }))[0]).toMatch(/^\/linux\/memoryPolicy\/nodes: invalid memory policy node 9876543210/);
    expect(problems(spec({ mode: 'MPOL_BIND', nodes: '3-1' }))[0]).toMatch(/^\/linux\/memoryPolicy\/nodes: invalid memory policy node list "3-1"/);
  });

  it('parseNodeList refuses before expanding a huge range', () => {
    expect(parseNodeList('0,2-3')).toEqual([0, 2, 3]);
    expect(() => parseNodeList('0-1024')).toThrow('at most 1024 nodes');
  });

  it('features lists every mode and flag tsrun passes on', () => {
    const linux = featuresDocument().linux as { memoryPolicy: { modes: string[]; flags: string[] }; intelRdt: unknown };
    expect(linux.memoryPolicy.modes).toEqual(['MPOL_DEFAULT', 'MPOL_PREFERRED', 'MPOL_BIND', 'MPOL_INTERLEAVE', 'MPOL_LOCAL', 'MPOL_PREFERRED_MANY', 'MPOL_WEIGHTED_INTERLEAVE']);
    expect(linux.memoryPolicy.flags).toEqual(['MPOL_F_STATIC_NODES', 'MPOL_F_RELATIVE_NODES', 'MPOL_F_NUMA_BALANCING']);
    expect(linux.intelRdt).toEqual({ enabled: true, schemata: true });
  });
});
