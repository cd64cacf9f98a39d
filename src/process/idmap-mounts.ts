/**
 * Idmapped bind mounts (config.md mount options idmap/ridmap, mounts[].uidMappings/gidMappings):
 * the detached, idmapped trees are made here in the host's user namespace, the only place the
 * kernel allows idmapping a host filesystem's mount (CAP_SYS_ADMIN over its user namespace), and
 * passed to oci-init as inherited descriptors, which it attaches at their destinations.
 */
import { closeSync } from 'node:fs';
import type { Native } from '../native/types.js';
import type { InitPlan } from '../spec/plan-types.js';
import { LINUX as L } from '../spec/linux-constants.js';
import { mapLines } from './idmap.js';

export interface IdmapFds {
  /** The parent's descriptors, in the order they must follow in the child's table. */
  fds: number[];
  close(): void;
}

/** Builds every idmapped tree of the plan and records its child descriptor number (firstChildFd,
 *  firstChildFd + 1, ...) in the mount's idmapFd. On failure nothing stays open. */
export function prepareIdmapMounts(nat: Native, init: InitPlan, firstChildFd: number): IdmapFds {
  const fds: number[] = [];
  const close = (): void => {
    for (const fd of fds.splice(0)) closeSync(fd);
  };
  try {
    // Plans built by tests may leave mounts out (mount namespace false).
    for (const m of init.mounts ?? []) {
      if (!m.idmap) continue;
      const rbind = (m.flags & L.MS_REC) !== 0;
      fds.push(nat.idmappedTree(m.source, mapLines(m.idmap.uidMappings), mapLines(m.idmap.gidMappings), rbind, m.idmap.recursive));
      m.idmapFd = firstChildFd + fds.length - 1;
    }
  } catch (e) {
    close();
    throw e;
  }
  return { fds, close };
}
