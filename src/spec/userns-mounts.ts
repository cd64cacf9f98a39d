/**
 * Mount changes a user namespace forces (pure; called by plan.ts).
 *
 * sysfs: the kernel lets a fresh sysfs be mounted only by a holder of CAP_SYS_ADMIN in the user
 * namespace that owns the caller's network namespace (fs/sysfs/mount.c, kobj_ns_current_may_mount:
 * /sys/class/net shows that network namespace's devices). A container with a new user namespace
 * and the host's network namespace can therefore never mount sysfs (runc issue #799). As runc's
 * rootless spec and crun do, /sys is then bound from the host instead, recursively, with
 * nosuid/nodev/noexec on every submount and read-only when the config asked for it.
 */
import { LINUX as L } from './linux-constants.js';
import type { PlanIdMapping, PlanMount } from './plan-types.js';

const SYSFS_BIND_ATTRS = L.MOUNT_ATTR_NOSUID | L.MOUNT_ATTR_NODEV | L.MOUNT_ATTR_NOEXEC;
const REMOUNT_MASK = L.MS_RDONLY | L.MS_NOSUID | L.MS_NODEV | L.MS_NOEXEC;

export interface UserNsMountContext {
  /** The container gets a new user namespace or joins one by path. */
  userNamespace: boolean;
  /** The container gets a new network namespace (created after, so owned by, its user ns). */
  newNetworkNamespace: boolean;
  /** The container's own maps (linux.uidMappings/gidMappings); empty without a new user ns. */
  uidMappings: PlanIdMapping[];
  gidMappings: PlanIdMapping[];
}

/** The sysfs mount as an rbind of the host's /sys, keeping its destination and flags. */
export function sysfsAsHostBind(m: PlanMount): PlanMount {
  const flags = (m.flags & REMOUNT_MASK) | L.MS_NOSUID | L.MS_NODEV | L.MS_NOEXEC | L.MS_BIND | L.MS_REC;
  const ro = (m.flags & L.MS_RDONLY) !== 0;
  return {
    ...m,
    source: '/sys',
    type: '',
    flags,
    data: '',
    remountFlags: flags & REMOUNT_MASK,
    // An rbind brings the host's submounts (/sys/fs/cgroup, /sys/kernel/security, ...): the
    // attributes must hold on each of them, not only on the top mount the remount reaches.
    attrSet: m.attrSet | SYSFS_BIND_ATTRS | (ro ? L.MOUNT_ATTR_RDONLY : 0),
    attrClr: m.attrClr & ~(SYSFS_BIND_ATTRS | (ro ? L.MOUNT_ATTR_RDONLY : 0)),
    createAs: 'dir',
  };
}

/** config.md: an `idmap`/`ridmap` mount without mappings of its own takes the container's user
 *  namespace mappings; with neither there is nothing to map through. */
function fillIdmap(m: PlanMount, ctx: UserNsMountContext, problems: string[]): PlanMount {
  if (!m.idmap || m.idmap.uidMappings.length > 0 || m.idmap.gidMappings.length > 0) return m;
  if (ctx.uidMappings.length === 0 || ctx.gidMappings.length === 0) {
    problems.push(`/mounts (destination ${m.destination}): idmap without uidMappings/gidMappings needs a new user namespace with mappings to borrow`);
    return m;
  }
  return { ...m, idmap: { ...m.idmap, uidMappings: ctx.uidMappings.map((x) => ({ ...x })), gidMappings: ctx.gidMappings.map((x) => ({ ...x })) } };
}

/** Applies the user-namespace substitutions to the converted mounts. */
export function adjustMountsForUserNs(mounts: PlanMount[], ctx: UserNsMountContext, problems: string[]): PlanMount[] {
  const bindSys = ctx.userNamespace && !ctx.newNetworkNamespace;
  return mounts.map((m) => fillIdmap(bindSys && m.type === 'sysfs' ? sysfsAsHostBind(m) : m, ctx, problems));
}
