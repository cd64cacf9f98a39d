// linux.memoryPolicy (runtime-spec v1.3.0 config-linux.md "Memory policy"): the container process
// and an exec'd one run under the configured policy, read back from inside with get_mempolicy(2)
// (the probe's `mempolicy`); a policy the kernel refuses fails create naming the field and the
// errno, and leaves nothing behind. This host has one NUMA node (0).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  installCleanup, makeBundle, newId, parseProbe, probe, skipNote, skipReason, tsrun, type Bundle,
} from '../../conformance/lib/index.js';
import { leftovers, ok } from './ops-lib.js';

installCleanup();

const MPOL = { DEFAULT: 0, PREFERRED: 1, BIND: 2, INTERLEAVE: 3, LOCAL: 4 };
const F_STATIC = 1 << 15;
const F_RELATIVE = 1 << 14;

/** Node numbers of this host (/sys/devices/system/node/online, e.g. "0" or "0-1"). */
function hostNodes(): number[] {
  let text = '0';
  try {
    text = readFileSync('/sys/devices/system/node/online', 'utf8').trim();
  } catch {
    // Kernels without CONFIG_NUMA have one implicit node 0.
  }
  return text.split(',').flatMap((r) => {
    const [a, b] = r.split('-').map(Number);
    return Array.from({ length: (b ?? a!) - a! + 1 }, (_, i) => a! + i);
  });
}

const numa = hostNodes();

async function withPolicy(policy: Record<string, unknown>): Promise<Bundle> {
  const b = await makeBundle();
  (b.config.linux as Record<string, unknown>).memoryPolicy = policy;
  return b;
}

describe.skipIf(!!skipReason)(`linux.memoryPolicy${skipNote}`, () => {
  const cases: Array<[string, Record<string, unknown>, { mode: number; flags: number; nodes: number[] }]> = [
    ['MPOL_BIND to node 0', { mode: 'MPOL_BIND', nodes: '0' }, { mode: MPOL.BIND, flags: 0, nodes: [0] }],
    ['MPOL_INTERLEAVE over node 0', { mode: 'MPOL_INTERLEAVE', nodes: '0' }, { mode: MPOL.INTERLEAVE, flags: 0, nodes: [0] }],
    ['MPOL_PREFERRED node 0', { mode: 'MPOL_PREFERRED', nodes: '0' }, { mode: MPOL.PREFERRED, flags: 0, nodes: [0] }],
    ['MPOL_BIND with MPOL_F_STATIC_NODES', { mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_STATIC_NODES'] }, { mode: MPOL.BIND, flags: F_STATIC, nodes: [0] }],
    ['MPOL_LOCAL', { mode: 'MPOL_LOCAL' }, { mode: MPOL.LOCAL, flags: 0, nodes: [] }],
    ['MPOL_DEFAULT', { mode: 'MPOL_DEFAULT' }, { mode: MPOL.DEFAULT, flags: 0, nodes: [] }],
  ];
  for (const [what, policy, want] of cases) {
    it(`${what}: get_mempolicy inside the container reports it`, async () => {
      const r = await probe(await withPolicy(policy));
      expect(r.mempolicy).toEqual({ ok: true, ...want });
    });
  }

  it('an exec\'d process gets the policy too (as runc), MPOL_PREFERRED with MPOL_F_RELATIVE_NODES', async () => {
    const b = await withPolicy({ mode: 'MPOL_PREFERRED', nodes: '0', flags: ['MPOL_F_RELATIVE_NODES'] });
    b.config.process.args = ['/bin/sleep', '30'];
    b.write();
    const id = newId('mpol');
    try {
      await ok(tsrun(['run', '-d', '--bundle', b.dir, id], { cwd: b.dir }));
      const r = parseProbe(await ok(tsrun(['exec', id, '/bin/probe'])));
      expect(r.mempolicy).toMatchObject({ ok: true, mode: MPOL.PREFERRED, flags: F_RELATIVE });
    } finally {
      await tsrun(['delete', '--force', id]);
    }
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
  });

  const missing = Math.max(...numa) + 1;
  it(`a node this host lacks (${missing}) fails create with EINVAL naming /linux/memoryPolicy, nothing left`, async () => {
    const b = await withPolicy({ mode: 'MPOL_BIND', nodes: String(missing) });
    b.write();
    const id = newId('mpol');
    const r = await tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\/linux\/memoryPolicy: set_mempolicy: Invalid argument \(EINVAL\)/);
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
  });

  it('an unknown mode, an unknown flag and a node beyond the kernel limit are refused before anything starts', async () => {
    for (const [policy, msg] of [
      [{ mode: 'INTERLEAVE', nodes: '0' }, /memoryPolicy\/mode/],
      [{ mode: 'MPOL_BIND', nodes: '0', flags: ['badflag'] }, /memoryPolicy\/flags/],
      [{ mode: 'MPOL_BIND', nodes: '0-9876543210' }, /\/linux\/memoryPolicy\/nodes: invalid memory policy node/],
    ] as const) {
      const b = await withPolicy(policy);
      b.write();
      const id = newId('mpol');
      const r = await tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(msg);
      expect(leftovers({ id, bundle: b.dir })).toEqual([]);
    }
  });
});
