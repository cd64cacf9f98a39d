/**
 * `tsrun features`: the runtime-spec features document (features.md), true to what this version
 * does: anything not yet applied (LSMs, the systemd cgroup driver, ...) says false.
 */

import { seccompFeatures } from '../seccomp/features.js';
import { CAPABILITIES } from '../spec/capabilities.js';
import { knownMountOptions } from '../spec/mount-options.js';
import { MPOL_FLAGS, MPOL_MODES } from '../spec/linux-constants.js';
import { SPEC_VERSION, VERSION, out, type CommandContext } from './dispatch.js';

export function featuresDocument(): Record<string, unknown> {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: SPEC_VERSION,
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: knownMountOptions(),
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts'],
      capabilities: [...CAPABILITIES],
      // src/cgroups: both hierarchies (v1/hybrid and pure v2, its device filter loaded through
      // the addon's bpf(2) wrapper), rdma limits on either; the systemd driver is refused.
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: true },
      seccomp: seccompFeatures(),
      apparmor: { enabled: false },
      selinux: { enabled: false },
      // src/resctrl: the runtime supports it; whether this host has resctrl is checked at create
      // (runc's features say enabled whatever the host has, too).
      intelRdt: { enabled: true, schemata: true },
      // Passed to set_mempolicy(2) by oci-init; the kernel decides which it accepts.
      memoryPolicy: { modes: Object.keys(MPOL_MODES), flags: Object.keys(MPOL_FLAGS) },
      // Idmapped bind mounts (src/process/idmap-mounts.ts): idmap/ridmap and mount mappings.
      mountExtensions: { idmap: { enabled: true } },
      // linux.netDevices moved with rtnetlink at create (src/container/netdev.ts).
      netDevices: { enabled: true },
    },
    annotations: {
      'io.tsrun.version': VERSION,
    },
  };
}

export function run(_ctx: CommandContext): number {
  out(JSON.stringify(featuresDocument(), null, '    ') + '\n');
  return 0;
}
