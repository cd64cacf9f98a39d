/**
 * The cgroup manager interface and its factory. One manager per container: it knows the
 * container's directory in every hierarchy it uses, and is rebuilt from state.json by
 * `loadManager` for the later commands (kill --all, pause, delete, ...).
 */

import type { LinuxResources } from '../spec/types.js';
import type { CgroupState, CgroupStats } from './types.js';
import type { DeviceRule } from './devices.js';
import type { DeviceProgramLoader } from './devices-bpf.js';
import { innerPath } from './path.js';
import { detectMode, readHostMounts, readOwnCgroups } from './detect.js';
import { v1Layout, V1Manager } from './v1.js';
import { v2Dir, V2Manager } from './v2.js';

export type { CgroupState, CgroupStats } from './types.js';
export { detectMode } from './detect.js';

export interface ApplyOptions {
  /** Device rules to install (devices.ts effectiveDeviceRules at create). When absent,
   *  resources.devices is installed as given, if present. */
  deviceRules?: DeviceRule[];
  /** `update` of a running container: honours memory.checkBeforeUpdate. */
  update?: boolean;
}

export interface CgroupManager {
  readonly mode: 'v1' | 'v2';
  /** Create the container's cgroup(s) (mkdir -p under the right hierarchies); idempotent. */
  create(): void;
  /** v2: an O_DIRECTORY fd for clone3 CLONE_INTO_CGROUP (caller closes), else -1. */
  openForClone(): number;
  /** Place a pid (when CLONE_INTO_CGROUP was not used / on v1 every hierarchy). */
  addProcess(pid: number): void;
  /** Apply linux.resources (create and update). Throws naming the file written and the field.
   *  Returns the spec fields this hierarchy has no file for (the caller may warn, as runc). */
  apply(resources: LinuxResources, opts?: ApplyOptions): string[];
  /** Every pid in the container's cgroup(s), recursively. */
  pids(): number[];
  freeze(): void;
  thaw(): void;
  frozen(): boolean;
  /** v2 cgroup.kill for SIGKILL where present, else signal each pid (frozen meanwhile, so no
   *  fork escapes). */
  killAll(signal: number): void;
  /** For `events --stats` (runc's JSON shape, types.ts). */
  stats(): CgroupStats;
  /** Remove the cgroup(s); retries EBUSY a bounded number of times; never removes anything above
   *  the container's own directory. */
  destroy(): void;
  /** What to persist in state.json to find the cgroup again (paths per hierarchy). */
  toState(): CgroupState;
}

export interface CreateOptions {
  cgroupsPath: string | undefined;
  id: string;
  /** Tests: a fake cgroupfs root. v2: the root is the unified hierarchy; v1: each subdirectory
   *  of the root is one controller's hierarchy (and "unified", if present, the v2 one). */
  root?: string;
  mode?: 'v1' | 'v2';
  /** v2: attaches the device program (the addon's bpf(2) wrapper, see devices-bpf.ts). */
  loadDeviceProgram?: DeviceProgramLoader;
}

export function createManager(opts: CreateOptions): CgroupManager {
  const inner = innerPath(opts.cgroupsPath, opts.id);
  const detected = opts.root !== undefined ? undefined : detectMode();
  const mode = opts.mode ?? (detected === 'v2' ? 'v2' : 'v1');
  // Own cgroups matter only for relative paths; skip reading /proc when the path is absolute.
  const own = inner.absolute ? new Map<string, string>() : readOwnCgroups();
  if (mode === 'v2') {
    const mount = opts.root !== undefined ? { mountpoint: opts.root, root: '/' } : (readHostMounts().unified ?? { mountpoint: '/sys/fs/cgroup', root: '/' });
    return new V2Manager(v2Dir(mount, own, inner), opts.loadDeviceProgram);
  }
  return new V1Manager(v1Layout(inner, own, opts.root, detected === 'hybrid'));
}

/**
 * Where createManager() will put the container's cgroup in each v1 hierarchy, without creating
 * anything: the plan binds these into the container when it has no cgroup namespace, so the
 * container sees its own cgroup, not the host's whole tree (as runc's cgroup v1 mount does).
 * Keys are hierarchy directory names under /sys/fs/cgroup ("cpu,cpuacct", "systemd", "unified").
 */
export function plannedV1Dirs(cgroupsPath: string | undefined, id: string, hierarchies: { name: string; options: string }[]): Map<string, string> {
  const inner = innerPath(cgroupsPath, id);
  const own = inner.absolute ? new Map<string, string>() : readOwnCgroups();
  const layout = v1Layout(inner, own, undefined, detectMode() === 'hybrid');
  const dirs = new Map<string, string>();
  for (const h of hierarchies) {
    const key = h.name === 'unified' ? '' : h.options.split(',').find((c) => layout[c] !== undefined);
    const dir = key === undefined ? undefined : layout[key];
    if (dir !== undefined) dirs.set(h.name, dir);
  }
  return dirs;
}

export function loadManager(state: CgroupState, loadDeviceProgram?: DeviceProgramLoader): CgroupManager {
  if (state.mode === 'v2') return new V2Manager(state.paths[''] ?? '', loadDeviceProgram, state.created ?? []);
  return new V1Manager(state.paths, state.created ?? []);
}
