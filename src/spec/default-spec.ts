/**
 * The config.json `tsrun spec` writes: the same example runc's `spec` command produces
 * (libcontainer/specconv Example and ToRootless), with ociVersion 1.3.0.
 */
import type { Mount, Spec } from './types.js';

export interface DefaultSpecOptions {
  /** `spec --rootless`: a user namespace mapping uid/gid (the caller's euid/egid) to root. */
  rootless: boolean;
  uid?: number;
  gid?: number;
  /** Add a cgroup namespace (runc does on a cgroup v2 host). */
  cgroupNamespace?: boolean;
}

const DEFAULT_CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

function defaultMounts(): Mount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ];
}

export function defaultSpec(opts: DefaultSpecOptions): Spec {
  const spec: Spec = {
    ociVersion: '1.3.0',
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: [...DEFAULT_CAPS], effective: [...DEFAULT_CAPS], permitted: [...DEFAULT_CAPS] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    // runc's value, kept so configs written by either tool are identical.
    hostname: 'runc',
    mounts: defaultMounts(),
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
        '/sys/devices/virtual/tpm',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
  if (opts.cgroupNamespace) spec.linux?.namespaces?.push({ type: 'cgroup' });
  if (opts.rootless) toRootless(spec, opts.uid ?? 0, opts.gid ?? 0);
  return spec;
}

/** As runc's ToRootless: no network namespace (nothing could configure it), a user namespace
 *  mapping the caller to root, /sys bound from the host (sysfs cannot be mounted without owning
 *  the network namespace), no uid=/gid= mount options and no cgroup resources. */
function toRootless(spec: Spec, uid: number, gid: number): void {
  const linux = spec.linux ?? {};
  linux.namespaces = (linux.namespaces ?? []).filter((n) => n.type !== 'network' && n.type !== 'user');
  linux.namespaces.push({ type: 'user' });
  linux.uidMappings = [{ containerID: 0, hostID: uid, size: 1 }];
  linux.gidMappings = [{ containerID: 0, hostID: gid, size: 1 }];
  delete linux.resources;
  spec.mounts = (spec.mounts ?? []).map((m) => {
    if (m.destination === '/sys') {
      return { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] };
    }
    if (!m.options) return m;
    return { ...m, options: m.options.filter((o) => !o.startsWith('uid=') && !o.startsWith('gid=')) };
  });
}
