/**
 * The container commands' side of its cgroup (src/cgroups): paused status, kill --all, the teardown
 * at delete. Containers whose state has no `cgroup` (made by a create without one) have none.
 */

import { loadManager, type CgroupManager } from '../cgroups/manager.js';
import type { StateFile } from './store.js';

const SIGKILL = 9;

export function managerOf(state: StateFile): CgroupManager | null {
  return state.cgroup ? loadManager(state.cgroup) : null;
}

/** `state`/`list` show paused while the freezer holds the cgroup; unreadable reads as not frozen. */
export function isFrozen(state: StateFile): boolean {
  try {
    return managerOf(state)?.frozen() ?? false;
  } catch {
    return false;
  }
}

/** delete --force of a live container: every process of the cgroup gets SIGKILL, not only the
 *  init (a container sharing the host pid namespace has no kernel teardown of its children). A
 *  frozen v1 task dies only once thawed, so a paused container is thawed after the signal. */
export function killCgroup(state: StateFile): void {
  const cg = managerOf(state);
  if (!cg) return;
  cg.killAll(SIGKILL);
  if (cg.frozen()) cg.thaw();
}

/** After the init was reaped: leftovers are killed and the directories removed (bounded EBUSY
 *  retries in the manager), so `delete` leaves nothing in /sys/fs/cgroup. */
export function teardownCgroup(state: StateFile): void {
  const cg = managerOf(state);
  if (!cg) return;
  if (cg.pids().length > 0) killCgroup(state);
  cg.destroy();
}
