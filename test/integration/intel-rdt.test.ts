// linux.intelRdt and `update --l3-cache-schema/--mem-bw-schema` (runtime-spec v1.3.0
// config-linux.md "IntelRdt"). On a host without resctrl (this one: not in /proc/filesystems) the
// spec wants an error: create fails naming /linux/intelRdt and leaves nothing, update names the
// flag and changes nothing. Where resctrl is mounted, the container's group holds its init and
// goes at delete. The resctrl rules themselves are unit-tested on a stand-in root
// (test/unit/rdt-resctrl.test.ts).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { installCleanup, makeBundle, newId, skipNote, skipReason, testRoot, tsrun, type Bundle } from '../../conformance/lib/index.js';
import { resctrlMountFrom } from '../../src/resctrl/index.js';
import { leftovers, ok } from './ops-lib.js';

installCleanup();

const resctrl = resctrlMountFrom(readFileSync('/proc/self/mountinfo', 'utf8'));
const noResctrl = ' (skipped: resctrl is mounted on this host)';
const withResctrl = ' (skipped: no resctrl on this host)';

async function bundle(rdt: Record<string, unknown> | null, args = ['/bin/sleep', '30']): Promise<Bundle> {
  const b = await makeBundle({ args });
  if (rdt) (b.config.linux as Record<string, unknown>).intelRdt = rdt;
  b.write();
  return b;
}

describe.skipIf(!!skipReason)(`linux.intelRdt${skipNote}`, () => {
  it.skipIf(resctrl !== null)(`create without resctrl fails naming /linux/intelRdt, nothing left behind${resctrl !== null ? noResctrl : ''}`, async () => {
    const b = await bundle({ l3CacheSchema: 'L3:0=f', memBwSchema: 'MB:0=50' });
    const id = newId('rdt');
    const r = await tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('/linux/intelRdt: intelRdt is specified in config, but Intel RDT is not supported or enabled');
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
    expect((await tsrun(['state', id])).code).toBe(1);
  });

  it.skipIf(resctrl !== null)(`update --l3-cache-schema without resctrl fails naming the flag, the container untouched${resctrl !== null ? noResctrl : ''}`, async () => {
    const b = await bundle(null);
    const id = newId('rdt');
    try {
      await ok(tsrun(['run', '-d', '--bundle', b.dir, id], { cwd: b.dir }));
      const stateFile = join(testRoot(), id, 'state.json');
      const before = readFileSync(stateFile, 'utf8');
      const r = await tsrun(['update', '--l3-cache-schema', 'L3:0=f', '--memory', '64m', id]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('--l3-cache-schema: intelRdt is specified in config, but Intel RDT is not supported or enabled');
      // Refused before any limit changed: the state (resources and all) is as it was.
      expect(readFileSync(stateFile, 'utf8')).toBe(before);
      expect(JSON.parse((await ok(tsrun(['state', id]))).stdout).status).toBe('running');
    } finally {
      await tsrun(['delete', '--force', id]);
    }
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
  });

  it.skipIf(resctrl === null)(`the container's group holds its init and goes at delete${resctrl === null ? withResctrl : ''}`, async () => {
    const b = await bundle({});
    const id = newId('rdt');
    const group = join(resctrl!, id);
    try {
      await ok(tsrun(['run', '-d', '--bundle', b.dir, id], { cwd: b.dir }));
      const pid = JSON.parse((await ok(tsrun(['state', id]))).stdout).pid as number;
      expect(readFileSync(join(group, 'tasks'), 'utf8').split('\n')).toContain(String(pid));
    } finally {
      await tsrun(['delete', '--force', id]);
    }
    expect(existsSync(group)).toBe(false);
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
  });
});
