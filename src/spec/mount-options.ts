/**
 * config.md "Mounts": the mount option table and the conversion of config.mounts to PlanMount.
 *
 * The table follows the spec's list of Linux mount options and runc's handling of them
 * (libcontainer/specconv): options that are MS_* flags set or clear a flag, in order (the last one
 * wins); propagation options become separate mount(2) calls; the recursive r* options become
 * mount_setattr(2) masks; anything else is filesystem data, passed to the filesystem as it is.
 */
import { posix } from 'node:path';
import type { Mount } from './types.js';
import type { PlanMount } from './plan-types.js';
import { LINUX as L } from './linux-constants.js';

interface FlagOption {
  clear: boolean;
  flag: number;
}

const FLAG_OPTIONS: Record<string, FlagOption> = {
  async: { clear: true, flag: L.MS_SYNCHRONOUS },
  atime: { clear: true, flag: L.MS_NOATIME },
  bind: { clear: false, flag: L.MS_BIND },
  // runc lets "defaults" fall through to the fs data (its flag is 0), which filesystems such as
  // tmpfs then reject; it means "no change" in mount(8), so it is a no-op here.
  defaults: { clear: false, flag: 0 },
  dev: { clear: true, flag: L.MS_NODEV },
  diratime: { clear: true, flag: L.MS_NODIRATIME },
  dirsync: { clear: false, flag: L.MS_DIRSYNC },
  exec: { clear: true, flag: L.MS_NOEXEC },
  iversion: { clear: false, flag: L.MS_I_VERSION },
  lazytime: { clear: false, flag: L.MS_LAZYTIME },
  loud: { clear: true, flag: L.MS_SILENT },
  mand: { clear: false, flag: L.MS_MANDLOCK },
  noatime: { clear: false, flag: L.MS_NOATIME },
  nodev: { clear: false, flag: L.MS_NODEV },
  nodiratime: { clear: false, flag: L.MS_NODIRATIME },
  noexec: { clear: false, flag: L.MS_NOEXEC },
  noiversion: { clear: true, flag: L.MS_I_VERSION },
  nolazytime: { clear: true, flag: L.MS_LAZYTIME },
  nomand: { clear: true, flag: L.MS_MANDLOCK },
  norelatime: { clear: true, flag: L.MS_RELATIME },
  nostrictatime: { clear: true, flag: L.MS_STRICTATIME },
  nosuid: { clear: false, flag: L.MS_NOSUID },
  nosymfollow: { clear: false, flag: L.MS_NOSYMFOLLOW },
  rbind: { clear: false, flag: L.MS_BIND | L.MS_REC },
  relatime: { clear: false, flag: L.MS_RELATIME },
  remount: { clear: false, flag: L.MS_REMOUNT },
  ro: { clear: false, flag: L.MS_RDONLY },
  rw: { clear: true, flag: L.MS_RDONLY },
  silent: { clear: false, flag: L.MS_SILENT },
  strictatime: { clear: false, flag: L.MS_STRICTATIME },
  suid: { clear: true, flag: L.MS_NOSUID },
  symfollow: { clear: true, flag: L.MS_NOSYMFOLLOW },
  sync: { clear: false, flag: L.MS_SYNCHRONOUS },
};

const PROPAGATION_OPTIONS: Record<string, number> = {
  private: L.MS_PRIVATE,
  rprivate: L.MS_PRIVATE | L.MS_REC,
  shared: L.MS_SHARED,
  rshared: L.MS_SHARED | L.MS_REC,
  slave: L.MS_SLAVE,
  rslave: L.MS_SLAVE | L.MS_REC,
  unbindable: L.MS_UNBINDABLE,
  runbindable: L.MS_UNBINDABLE | L.MS_REC,
};

const RECURSIVE_ATTR_OPTIONS: Record<string, FlagOption> = {
  rro: { clear: false, flag: L.MOUNT_ATTR_RDONLY },
  rrw: { clear: true, flag: L.MOUNT_ATTR_RDONLY },
  rnosuid: { clear: false, flag: L.MOUNT_ATTR_NOSUID },
  rsuid: { clear: true, flag: L.MOUNT_ATTR_NOSUID },
  rnodev: { clear: false, flag: L.MOUNT_ATTR_NODEV },
  rdev: { clear: true, flag: L.MOUNT_ATTR_NODEV },
  rnoexec: { clear: false, flag: L.MOUNT_ATTR_NOEXEC },
  rexec: { clear: true, flag: L.MOUNT_ATTR_NOEXEC },
  rnodiratime: { clear: false, flag: L.MOUNT_ATTR_NODIRATIME },
  rdiratime: { clear: true, flag: L.MOUNT_ATTR_NODIRATIME },
  rrelatime: { clear: false, flag: L.MOUNT_ATTR_RELATIME },
  rnorelatime: { clear: true, flag: L.MOUNT_ATTR_RELATIME },
  rnoatime: { clear: false, flag: L.MOUNT_ATTR_NOATIME },
  ratime: { clear: true, flag: L.MOUNT_ATTR_NOATIME },
  rstrictatime: { clear: false, flag: L.MOUNT_ATTR_STRICTATIME },
  rnostrictatime: { clear: true, flag: L.MOUNT_ATTR_STRICTATIME },
  rnosymfollow: { clear: false, flag: L.MOUNT_ATTR_NOSYMFOLLOW },
  rsymfollow: { clear: true, flag: L.MOUNT_ATTR_NOSYMFOLLOW },
};

/** Options runc knows that oci-init cannot carry out yet: refused with a clear error rather than
 *  silently giving a different filesystem view. */
const UNSUPPORTED_OPTIONS: Record<string, string> = {};

/** The flags a bind remount can change (per-mount flags; the kernel ignores the rest there). */
const BIND_REMOUNT_MASK =
  L.MS_RDONLY |
  L.MS_NOSUID |
  L.MS_NODEV |
  L.MS_NOEXEC |
  L.MS_NOATIME |
  L.MS_NODIRATIME |
  L.MS_RELATIME |
  L.MS_STRICTATIME |
  L.MS_NOSYMFOLLOW;

/** Flags of the tmpfs runc puts under a cgroup v1 mount and of its cgroup mounts. */
const CGROUP_V1_DEFAULT_FLAGS = L.MS_NOEXEC | L.MS_NOSUID | L.MS_NODEV;

/** Every option the table understands (for `features`: mountOptions), sorted. */
export function knownMountOptions(): string[] {
  return [...Object.keys(FLAG_OPTIONS), ...Object.keys(PROPAGATION_OPTIONS), ...Object.keys(RECURSIVE_ATTR_OPTIONS), 'idmap', 'ridmap', 'tmpcopyup'].sort();
}

/** MS_* propagation flags of a propagation option name ("rslave" -> MS_REC|MS_SLAVE). */
export function propagationFlags(name: string): number | undefined {
  return Object.hasOwn(PROPAGATION_OPTIONS, name) ? PROPAGATION_OPTIONS[name] : undefined;
}

export interface ParsedMountOptions {
  flags: number;
  data: string;
  propagation: number[];
  attrSet: number;
  attrClr: number;
  /** Options found in UNSUPPORTED_OPTIONS, with the reason. */
  unsupported: { option: string; index: number; reason: string }[];
  /** config.md "idmap"/"ridmap": an idmapped bind (ridmap: every submount idmapped too). */
  idmap?: 'idmap' | 'ridmap';
  /** runc's `tmpcopyup`: a tmpfs starts with a copy of the destination's content. */
  copyUp?: boolean;
}

/** Apply the option table to one mount's options, in order. */
export function parseMountOptions(options: readonly string[]): ParsedMountOptions {
  const out: ParsedMountOptions = { flags: 0, data: '', propagation: [], attrSet: 0, attrClr: 0, unsupported: [] };
  const data: string[] = [];
  options.forEach((o, index) => {
    if (Object.hasOwn(FLAG_OPTIONS, o)) {
      const f = FLAG_OPTIONS[o];
      out.flags = f.clear ? out.flags & ~f.flag : out.flags | f.flag;
    } else if (Object.hasOwn(PROPAGATION_OPTIONS, o)) {
      out.propagation.push(PROPAGATION_OPTIONS[o]);
    } else if (Object.hasOwn(RECURSIVE_ATTR_OPTIONS, o)) {
      applyAttr(out, RECURSIVE_ATTR_OPTIONS[o]);
    } else if (o === 'idmap' || o === 'ridmap') {
      out.idmap = o;
    } else if (o === 'tmpcopyup') {
      out.copyUp = true;
    } else if (Object.hasOwn(UNSUPPORTED_OPTIONS, o)) {
      out.unsupported.push({ option: o, index, reason: UNSUPPORTED_OPTIONS[o] });
    } else {
      data.push(o);
    }
  });
  out.data = data.join(',');
  return out;
}

function applyAttr(out: ParsedMountOptions, f: FlagOption): void {
  if (f.clear) {
    out.attrClr |= f.flag;
    out.attrSet &= ~f.flag;
    return;
  }
  out.attrSet |= f.flag;
  out.attrClr &= ~f.flag;
  // mount_setattr(2): an access-time mode in attr_set needs MOUNT_ATTR__ATIME in attr_clr.
  if ((f.flag & L.MOUNT_ATTR__ATIME) === f.flag) out.attrClr |= L.MOUNT_ATTR__ATIME;
}

/** Normalise a path inside the container: relative paths are taken from "/" (as runc). */
export function containerPath(p: string): string {
  return posix.resolve('/', p);
}

export interface CgroupV1Hierarchy {
  /** Directory name under /sys/fs/cgroup ("memory", "cpu,cpuacct", "systemd", "unified"). */
  name: string;
  /** Mount data naming the controllers ("memory", "cpu,cpuacct", "name=systemd"). */
  options: string;
  /** Host directory to bind when there is no cgroup namespace; default /sys/fs/cgroup/<name>
   *  (the caller may pass the container's own cgroup directory in that hierarchy, as runc does). */
  source?: string;
}

export interface MountContext {
  bundle: string;
  cgroupMode: 'v1' | 'v2' | 'hybrid';
  cgroupV1Hierarchies: readonly CgroupV1Hierarchy[];
  /** The container gets a new cgroup namespace. */
  cgroupNamespace: boolean;
}

/** config.mounts -> PlanMount[]; problems are pushed as "<json path>: <message>". */
export function buildMounts(mounts: readonly Mount[], ctx: MountContext, problems: string[]): PlanMount[] {
  const out: PlanMount[] = [];
  mounts.forEach((m, i) => {
    const converted = buildMount(m, `/mounts/${i}`, ctx, problems);
    if (converted) out.push(...converted);
  });
  return out;
}

function buildMount(m: Mount, at: string, ctx: MountContext, problems: string[]): PlanMount[] | null {
  const before = problems.length;
  const opts = parseMountOptions(m.options ?? []);
  for (const u of opts.unsupported) problems.push(`${at}/options/${u.index}: "${u.option}": ${u.reason}`);
  for (const [field, v] of [['destination', m.destination], ['source', m.source], ['type', m.type]] as const) {
    // A NUL would silently truncate the string at the C boundary (runc refuses it too).
    if (v?.includes('\0')) problems.push(`${at}/${field}: must not contain a NUL byte`);
  }
  const destination = containerPath(m.destination);
  // Mounting over "/" would replace the rootfs itself: that is what root.path is for.
  if (destination === '/') problems.push(`${at}/destination: "${m.destination}" is the container's root; mount over "/" is not allowed`);
  const isBind = m.type === 'bind' || (opts.flags & L.MS_BIND) !== 0;
  if (isBind && !m.source) problems.push(`${at}/source: a bind mount needs a source`);
  if (!isBind && !m.type && (opts.flags & L.MS_REMOUNT) === 0) {
    problems.push(`${at}/type: required for a mount that is not a bind mount`);
  }
  if (problems.length > before) return null;

  if (isBind) return [withIdmap(bindMount(m.source ?? '', destination, opts, ctx.bundle), m, opts)];
  if (opts.idmap !== undefined || m.uidMappings !== undefined || m.gidMappings !== undefined) {
    problems.push(`${at}: idmapped mounts (idmap, ridmap, uidMappings/gidMappings) are supported for bind mounts only`);
    return null;
  }
  if (m.type === 'cgroup') return cgroupMounts(m, destination, opts, ctx);
  return [
    {
      destination,
      source: m.source ?? '',
      type: m.type ?? '',
      flags: opts.flags,
      data: opts.data,
      remountFlags: 0,
      propagation: opts.propagation,
      attrSet: opts.attrSet,
      attrClr: opts.attrClr,
      createAs: 'dir',
      // runc applies tmpcopyup to tmpfs only and ignores it on other types; so does tsrun.
      ...(opts.copyUp === true && m.type === 'tmpfs' ? { copyUp: true } : {}),
    },
  ];
}

/** An idmapped bind: the mount's own mappings, or none yet (plan.ts fills in the container's
 *  mappings for a bare `idmap` option, config.md "idmap"). */
function withIdmap(pm: PlanMount, m: Mount, opts: ParsedMountOptions): PlanMount {
  if (opts.idmap === undefined && m.uidMappings === undefined && m.gidMappings === undefined) return pm;
  const copy = (x: Mount['uidMappings']) => (x ?? []).map(({ containerID, hostID, size }) => ({ containerID, hostID, size }));
  return { ...pm, idmap: { uidMappings: copy(m.uidMappings), gidMappings: copy(m.gidMappings), recursive: opts.idmap === 'ridmap' } };
}

function bindMount(source: string, destination: string, opts: ParsedMountOptions, bundle: string): PlanMount {
  const flags = opts.flags | L.MS_BIND;
  return {
    destination,
    // config.md: a relative bind source is relative to the bundle (runc joins it with its cwd,
    // which is the bundle).
    source: posix.resolve(bundle, source),
    type: '',
    flags,
    data: opts.data,
    // A bind mount ignores ro/nosuid/... on the first call; a remount applies them.
    remountFlags: flags & BIND_REMOUNT_MASK,
    propagation: opts.propagation,
    // A read-only rbind is read-only all the way down: otherwise its submounts (a host /sys's
    // cgroupfs, say) stay writable inside (SECURITY.md #11, CVE-2023-25809). The spec's `ro` names
    // only the top mount; this is deliberately stricter, as crun is.
    attrSet: opts.attrSet | ((flags & L.MS_REC) !== 0 && (flags & L.MS_RDONLY) !== 0 ? L.MOUNT_ATTR_RDONLY : 0),
    attrClr: opts.attrClr,
    createAs: 'auto',
  };
}

/** A `cgroup` mount: the cgroup2 filesystem on a v2 host; on v1/hybrid hosts, as runc: a tmpfs
 *  with one mount per hierarchy (cgroup filesystems in a cgroup namespace, host binds otherwise). */
function cgroupMounts(m: Mount, destination: string, opts: ParsedMountOptions, ctx: MountContext): PlanMount[] {
  const common = { remountFlags: 0, attrSet: opts.attrSet, attrClr: opts.attrClr, createAs: 'dir' as const };
  if (ctx.cgroupMode === 'v2') {
    return [{ ...common, destination, source: m.source || 'cgroup', type: 'cgroup2', flags: opts.flags, data: opts.data, propagation: opts.propagation }];
  }
  const out: PlanMount[] = [
    { ...common, attrSet: 0, attrClr: 0, destination, source: 'tmpfs', type: 'tmpfs', flags: CGROUP_V1_DEFAULT_FLAGS, data: 'mode=755', propagation: opts.propagation },
  ];
  const readOnly = (opts.flags & L.MS_RDONLY) !== 0;
  for (const h of ctx.cgroupV1Hierarchies) {
    const dst = posix.join(destination, h.name);
    if (ctx.cgroupNamespace) {
      const v2 = h.name === 'unified';
      out.push({
        ...common,
        attrSet: 0,
        attrClr: 0,
        destination: dst,
        source: 'cgroup',
        type: v2 ? 'cgroup2' : 'cgroup',
        flags: CGROUP_V1_DEFAULT_FLAGS | (readOnly ? L.MS_RDONLY : 0),
        data: v2 ? '' : h.options,
        propagation: [],
      });
    } else {
      const bind = bindMount(h.source ?? `/sys/fs/cgroup/${h.name}`, dst, { ...opts, flags: opts.flags | L.MS_REC }, '/');
      out.push({ ...bind, data: '', createAs: 'dir' });
    }
  }
  // The tmpfs had to stay writable for the hierarchy directories; once they are in place it goes
  // read-only when asked, as runc does (SECURITY.md #11, CVE-2023-25809: a writable cgroupfs view).
  if (readOnly) {
    out.push({ ...common, attrSet: 0, attrClr: 0, destination, source: '', type: '', flags: L.MS_REMOUNT | CGROUP_V1_DEFAULT_FLAGS | L.MS_RDONLY, data: 'mode=755', propagation: [] });
  }
  return out;
}
