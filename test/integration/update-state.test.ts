// `tsrun update` persists what it changed (as runc saves its config): a later partial update keeps
// the earlier limits, in the cgroup and in state.json. v1/hybrid host (this machine).
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CGROUP_PARENT, cgroupMounts, installCleanup, makeBundle, newId, skipNote, skipReason, testRoot, tsrun,
} from '../../conformance/lib/index.js';
import { leftovers, ok } from './ops-lib.js';

installCleanup();

const MiB = 1024 * 1024;
const v1 = (ctrl: string): string | undefined => cgroupMounts().find((m) => !m.v2 && m.options.includes(ctrl))?.mountPoint;
const v1Note = v1('memory') && v1('cpu') && v1('pids') ? '' : ' (skipped: no cgroup v1 memory/cpu/pids hierarchies)';

describe.skipIf(!!skipReason || !!v1Note)(`update keeps earlier limits${skipNote || v1Note}`, () => {
  it('update --memory, then update --cpu-quota: both stay in effect and in state.json', async () => {
    const b = await makeBundle({ args: ['/bin/sleep', '30'] });
    b.config.linux.resources = { ...(b.config.linux.resources ?? {}), pids: { limit: 40 } };
    b.write();
    const id = newId('upd');
    const cg = (ctrl: string, file: string): string => readFileSync(join(v1(ctrl)!, CGROUP_PARENT, basename(b.dir), file), 'utf8').trim();
    const saved = (): Record<string, unknown> => JSON.parse(readFileSync(join(testRoot(), id, 'state.json'), 'utf8')).resources;
    try {
      await ok(tsrun(['run', '-d', '--bundle', b.dir, id], { cwd: b.dir }));
      expect(saved()).toEqual({ pids: { limit: 40 } });
      await ok(tsrun(['update', '--memory', '80m', id]));
      await ok(tsrun(['update', '--cpu-quota', '30000', '--cpu-period', '100000', id]));
      expect(cg('memory', 'memory.limit_in_bytes')).toBe(String(80 * MiB));
      expect(cg('cpu', 'cpu.cfs_quota_us')).toBe('30000');
      expect(saved()).toEqual({ pids: { limit: 40 }, memory: { limit: 80 * MiB }, cpu: { quota: 30000, period: 100000 } });
      // --resources replaces field by field too: the memory limit survives a pids change.
      await ok(tsrun(['update', '--resources', '-', id], { input: JSON.stringify({ pids: { limit: 50 } }) }));
      expect(cg('memory', 'memory.limit_in_bytes')).toBe(String(80 * MiB));
      expect(cg('pids', 'pids.max')).toBe('50');
      expect(saved()).toMatchObject({ pids: { limit: 50 }, memory: { limit: 80 * MiB }, cpu: { quota: 30000 } });
    } finally {
      await tsrun(['delete', '--force', id]);
    }
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
  });
});
