/**
 * The container's cgroup at `create` (src/cgroups/README.md "Wiring"): made and limited before the
 * init is spawned, so the init runs no container code outside it (runtime-spec config-linux.md
 * "Control groups": the runtime MUST apply resources before the user process starts).
 */

import { createManager, loadManager, type CgroupManager, type CgroupState } from '../cgroups/manager.js';
import { effectiveDeviceRules } from '../cgroups/devices.js';
import { logWarn } from '../log.js';
import type { Native } from '../native/types.js';
import type { Spec } from '../spec/types.js';

/** The addon's bpf(2) wrapper as the v2 manager wants it. */
function loader(nat: Native): (insns: Buffer, fd: number) => void {
  return (insns, fd) => nat.loadDeviceProgram(insns, fd);
}

/** createManager + create + apply; on a failure of either the cgroup is removed again. */
export function setupCgroup(spec: Spec, id: string, nat: Native): CgroupManager {
  const cg = createManager({ cgroupsPath: spec.linux?.cgroupsPath, id, loadDeviceProgram: loader(nat) });
  try {
    cg.create();
    const res = spec.linux?.resources ?? {};
    // linux.devices nodes get no implicit allow: as runc, only resources.devices and the default
    // list (devices.ts) decide, so a created node may still be refused (conformance/cgroups.test.ts).
    const ignored = cg.apply(res, { deviceRules: effectiveDeviceRules(res.devices, undefined) });
    for (const f of ignored) logWarn(`${f}: not supported by cgroup ${cg.mode}, ignored`);
    return cg;
  } catch (e) {
    destroyQuietly(cg);
    throw e;
  }
}

/** Manager of an existing container (state.json `cgroup`), or null for state written without one. */
export function cgroupOf(state: { cgroup?: CgroupState }, nat: Native): CgroupManager | null {
  return state.cgroup ? loadManager(state.cgroup, loader(nat)) : null;
}

/** Cleanup after a failed create: the error being reported matters more than this one. */
export function destroyQuietly(cg: CgroupManager): void {
  try {
    cg.killAll(9);
    cg.destroy();
  } catch (e) {
    logWarn(`removing cgroup: ${(e as Error).message}`);
  }
}
