/** `pause` / `resume` (v2 cgroup.freeze, v1 freezer.state) and `ps`'s pid list. runc's rules: a
 *  created or running container may be paused, only a paused one resumed (container/status.ts). */

import { TsrunError } from '../errors.js';
import { loadContainer, type Container } from './container.js';
import { managerOf } from './cgroup.js';
import { checkAction } from './status.js';
import type { Store } from './store.js';
import type { CgroupManager } from '../cgroups/manager.js';

function needCgroup(c: Container): CgroupManager {
  const cg = managerOf(c.state);
  if (!cg) throw new TsrunError(`container ${c.id} has no cgroup (state written without one)`);
  return cg;
}

export function pauseContainer(store: Store, id: string): void {
  const c = loadContainer(store, id);
  checkAction('pause', c.status(), id);
  needCgroup(c).freeze();
}

export function resumeContainer(store: Store, id: string): void {
  const c = loadContainer(store, id);
  checkAction('resume', c.status(), id);
  needCgroup(c).thaw();
}

/** Host pids of every process in the container's cgroup (runc `ps` lists these). */
export function containerPids(store: Store, id: string): number[] {
  return needCgroup(loadContainer(store, id)).pids();
}
