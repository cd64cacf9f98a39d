/**
 * linux.netDevices (runtime-spec v1.3.0 config-linux.md "Network Devices"): host interfaces moved
 * into the container's network namespace at create, renamed to `name` when given, keeping their
 * permanent global addresses, set up (the moves themselves: addon/src/netdev.cc).
 *
 * When: `create` moves them once oci-init reports `mounted` (every namespace, including a joined
 * one, is in place) and before the prestart/createRuntime hooks, as runc does before its hooks and
 * before its init applies sysctls: a hook or a net.ipv4.conf.<dev>.* sysctl finds the device there.
 *
 * Delete does not move them back. The spec ("Namespace Lifecycle and Container Termination"): the
 * runtime MUST NOT attempt to move the interface out of the namespace before deletion; the kernel
 * returns physical devices to the initial namespace when the namespace dies and destroys virtual
 * ones (veth, macvlan, ...); a joined namespace keeps them (its owner decides). runc does the same.
 * state.json's `netDevices` records what went where, for inspection; nothing acts on it.
 * Only a create that fails after moving undoes its own moves, so a refused create leaves the host
 * as it found it.
 */

import { closeSync, fstatSync, openSync, constants as C } from 'node:fs';
import { TsrunError } from '../errors.js';
import { logDebug, logWarn } from '../log.js';
import type { MovedNetDevice, Native } from '../native/types.js';
import type { Spec } from '../spec/types.js';
import { pointerToken } from '../spec/validate.js';

/** One requested move: the host interface and its name in the container (maybe a "%d" template). */
export interface NetDeviceRequest {
  host: string;
  name: string;
}

/** What state.json records of a moved device: the same pair, `name` as the kernel completed it. */
export type NetDeviceRecord = NetDeviceRequest;

/** The moves the config asks for, in the config's order (pure). */
export function netDeviceRequests(spec: Spec): NetDeviceRequest[] {
  return Object.entries(spec.linux?.netDevices ?? {}).map(([host, dev]) => ({ host, name: dev.name || host }));
}

/** The file of the container's network namespace: a joined namespace's path, else the init's
 *  (pure). Null without a network namespace entry (validate.ts refuses netDevices then). */
export function netnsFile(spec: Spec, pid: number): string | null {
  const ns = spec.linux?.namespaces?.find((n) => n.type === 'network');
  if (ns === undefined) return null;
  return ns.path ?? `/proc/${pid}/ns/net`;
}

/** The JSON pointer of a device's entry, for errors. */
export function devicePointer(host: string): string {
  return `/linux/netDevices/${pointerToken(host)}`;
}

/** The error for a device netdevCheck refused, naming its config entry. */
export function checkError(req: NetDeviceRequest, named: boolean, e: NodeJS.ErrnoException): TsrunError {
  const at = devicePointer(req.host);
  if (e.code === 'ENODEV') return new TsrunError(`${at}: no network interface "${req.host}" in the runtime network namespace`);
  if (e.code === 'EEXIST') {
    return new TsrunError(`${named ? `${at}/name` : at}: a network interface "${req.name}" already exists in the container's network namespace`);
  }
  return new TsrunError(`${at}: cannot move network interface "${req.host}"`, { cause: e });
}

interface Moved {
  req: NetDeviceRequest;
  dev: MovedNetDevice;
}

/** The devices one create moved, with the two namespaces open, until close(). */
export class NetDevices {
  private readonly moved: Moved[] = [];

  private constructor(
    private readonly nat: Native,
    private readonly runtimeNs: number,
    private readonly containerNs: number,
  ) {}

  /** Checks every device first (the spec: the runtime MUST check that the move is possible), so a
   *  missing or clashing one refuses the create before any host interface went down; then moves
   *  them in order, undoing earlier moves when one fails. Null when the config lists none. */
  static move(nat: Native, spec: Spec, pid: number): NetDevices | null {
    const reqs = netDeviceRequests(spec);
    const file = netnsFile(spec, pid);
    if (reqs.length === 0 || file === null) return null;
    const nd = NetDevices.open(nat, file);
    try {
      for (const r of reqs) {
        try {
          nat.netdevCheck(r.host, r.name, nd.runtimeNs, nd.containerNs);
        } catch (e) {
          throw checkError(r, spec.linux?.netDevices?.[r.host]?.name !== undefined, e as NodeJS.ErrnoException);
        }
      }
      for (const r of reqs) nd.moveOne(r);
      return nd;
    } catch (e) {
      nd.rollback();
      nd.close();
      throw e;
    }
  }

  private static open(nat: Native, file: string): NetDevices {
    const runtimeNs = openSync('/proc/self/ns/net', C.O_RDONLY);
    let containerNs: number;
    try {
      containerNs = openSync(file, C.O_RDONLY);
    } catch (e) {
      closeSync(runtimeNs);
      throw new TsrunError(`/linux/netDevices: opening the container's network namespace ${file}`, { cause: e });
    }
    const nd = new NetDevices(nat, runtimeNs, containerNs);
    const a = fstatSync(runtimeNs);
    const b = fstatSync(containerNs);
    if (a.dev === b.dev && a.ino === b.ino) {
      nd.close();
      throw new TsrunError(`/linux/netDevices: the container's network namespace ${file} is the runtime's own: no device can move into it`);
    }
    return nd;
  }

  private moveOne(req: NetDeviceRequest): void {
    try {
      // config-linux.md: the runtime MUST set the device up after moving it.
      const dev = this.nat.netdevMove(req.host, req.name, this.runtimeNs, this.containerNs, true);
      this.moved.push({ req, dev });
      logDebug(`netDevices: ${req.host} is ${dev.name} in the container (${dev.addresses.join(', ') || 'no addresses'})`);
    } catch (e) {
      throw new TsrunError(`${devicePointer(req.host)}: moving network interface "${req.host}" into the container's network namespace`, { cause: e });
    }
  }

  /** host name ↔ container name of every moved device, for state.json. */
  records(): NetDeviceRecord[] {
    return this.moved.map((m) => ({ host: m.req.host, name: m.dev.name }));
  }

  /** A failed create: every moved device goes back under its host name, addresses and up state as
   *  before, last moved first. Failures are warnings: the create's own error is the one to report. */
  rollback(): void {
    for (const m of this.moved.splice(0).reverse()) {
      try {
        this.nat.netdevMove(m.dev.name, m.req.host, this.containerNs, this.runtimeNs, m.dev.wasUp);
      } catch (e) {
        logWarn(`netDevices: moving ${m.dev.name} back to the runtime namespace as ${m.req.host}: ${(e as Error).message}`);
      }
    }
  }

  close(): void {
    closeSync(this.runtimeNs);
    closeSync(this.containerNs);
  }
}
