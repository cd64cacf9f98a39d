/**
 * `tsrun update`: new linux.resources for a live container, as runc: either the whole object from
 * `--resources FILE|-` (dockerd pipes it on stdin), or runc's single-value flags. Devices are not
 * changed (runc's update does not touch them either). --l3-cache-schema/--mem-bw-schema go to the
 * container's resctrl group (src/resctrl).
 */

import { readFileSync } from 'node:fs';
import { StatusError, TsrunError, UsageError } from '../errors.js';
import { logWarn } from '../log.js';
import type { LinuxIntelRdt, LinuxResources } from '../spec/types.js';
import { findResctrlMount, RdtUnavailableError, updateIntelRdt, type RdtOptions } from '../resctrl/index.js';
import { managerOf } from './cgroup.js';
import { loadContainer } from './container.js';
import type { Store } from './store.js';
import type { Native } from '../native/types.js';

export type FlagValues = Record<string, string | number | boolean | string[]>;

/** runc's --resources: a path, or "-" for stdin. Parsed and validated against the schema. */
export async function resourcesFromFile(path: string): Promise<LinuxResources> {
  const { parseResources } = await import('../spec/load.js');
  const file = path === '-' ? 'stdin' : path;
  let text: string;
  try {
    text = path === '-' ? readFileSync(0, 'utf8') : readFileSync(path, 'utf8');
  } catch (e) {
    throw new TsrunError(`--resources: reading ${file}: ${(e as Error).message}`);
  }
  const r = parseResources(text, `--resources ${file}`);
  if (r.devices !== undefined) logWarn('--resources: devices are not changed by update (as runc), ignored');
  delete r.devices;
  return r;
}

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** docker's units.RAMInBytes, which runc uses: "64m", "1.5g", "1024", "512KiB"; binary units. */
export function ramInBytes(flag: string, v: string): number {
  if (v === '-1') return -1;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$/i.exec(v.trim());
  if (!m) throw new UsageError(`invalid value for ${flag}: invalid size: '${v}'`);
  return Math.floor(Number(m[1]) * (UNITS[(m[2] ?? '').toLowerCase()] as number));
}

function integer(flag: string, v: string, signed: boolean): number {
  if (!(signed ? /^-?\d+$/ : /^\d+$/).test(v)) throw new UsageError(`invalid value for ${flag}: ${JSON.stringify(v)} is not ${signed ? 'an integer' : 'an unsigned integer'}`);
  return Number(v);
}

/** The resources runc's single-value flags describe (only the flags given). */
export function resourcesFromFlags(f: FlagValues): LinuxResources {
  const r: LinuxResources = {};
  const s = (n: string): string | undefined => (typeof f[n] === 'string' ? (f[n] as string) : undefined);
  const cpu: NonNullable<LinuxResources['cpu']> = {};
  const mem: NonNullable<LinuxResources['memory']> = {};
  if (typeof f['blkio-weight'] === 'number' && f['blkio-weight'] !== 0) r.blockIO = { weight: f['blkio-weight'] };
  const cpuInts: Array<[string, 'period' | 'quota' | 'realtimePeriod' | 'realtimeRuntime' | 'shares', boolean]> = [
    ['cpu-period', 'period', false], ['cpu-quota', 'quota', true], ['cpu-rt-period', 'realtimePeriod', false],
    ['cpu-rt-runtime', 'realtimeRuntime', true], ['cpu-share', 'shares', false],
  ];
  for (const [flag, key, signed] of cpuInts) {
    const v = s(flag);
    if (v !== undefined && v !== '') cpu[key] = integer(`--${flag}`, v, signed);
  }
  if (s('cpuset-cpus')) cpu.cpus = s('cpuset-cpus');
  if (s('cpuset-mems')) cpu.mems = s('cpuset-mems');
  for (const [flag, key] of [['memory', 'limit'], ['memory-reservation', 'reservation'], ['memory-swap', 'swap']] as const) {
    const v = s(flag);
    if (v !== undefined && v !== '') mem[key] = ramInBytes(`--${flag}`, v);
  }
  if (typeof f['pids-limit'] === 'number') r.pids = { limit: f['pids-limit'] };
  if (Object.keys(cpu).length > 0) r.cpu = cpu;
  if (Object.keys(mem).length > 0) r.memory = mem;
  return r;
}

export type RdtUpdate = Pick<LinuxIntelRdt, 'l3CacheSchema' | 'memBwSchema'>;

/** runc's --l3-cache-schema and --mem-bw-schema (null when neither is given). */
export function rdtFromFlags(f: FlagValues): RdtUpdate | null {
  const l3 = typeof f['l3-cache-schema'] === 'string' && f['l3-cache-schema'] !== '' ? f['l3-cache-schema'] : undefined;
  const mb = typeof f['mem-bw-schema'] === 'string' && f['mem-bw-schema'] !== '' ? f['mem-bw-schema'] : undefined;
  // config-linux.md "IntelRdt": memBwSchema MUST start with "MB:" and MUST NOT contain newlines.
  if (mb !== undefined && (!mb.startsWith('MB:') || mb.includes('\n'))) throw new UsageError(`--mem-bw-schema: must start with "MB:" and be one line, got ${JSON.stringify(mb)}`);
  if (l3 === undefined && mb === undefined) return null;
  return { ...(l3 !== undefined ? { l3CacheSchema: l3 } : {}), ...(mb !== undefined ? { memBwSchema: mb } : {}) };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `change` over `base`, field by field (as runc overwrites the saved config only where the
 *  update gave a value): objects merge recursively, arrays and scalars replace. */
export function mergeResources(base: LinuxResources, change: LinuxResources): LinuxResources {
  const merge = (a: unknown, b: unknown): unknown => {
    if (!isObject(a) || !isObject(b)) return structuredClone(b);
    const out: Record<string, unknown> = structuredClone(a);
    for (const [k, v] of Object.entries(b)) if (v !== undefined) out[k] = merge(out[k], v);
    return out;
  };
  return merge(base, change) as LinuxResources;
}

/**
 * The resources an update applies and saves: `change` merged over the saved ones. A saved
 * memory+swap total the new memory limit no longer fits under is dropped, not applied: runc would
 * fail the update (docker asks for --memory-swap along with such a --memory), tsrun keeps the swap
 * setting the kernel has, as it did before it saved resources (the VM suite relies on it).
 */
export function mergedForUpdate(saved: LinuxResources, change: LinuxResources): LinuxResources {
  const merged = mergeResources(saved, change);
  const m = merged.memory;
  if (m && change.memory?.limit !== undefined && change.memory.swap === undefined && m.swap !== undefined && m.limit !== undefined) {
    const fits = m.swap === -1 || (m.limit !== -1 && m.swap >= m.limit);
    if (!fits) delete m.swap;
  }
  return merged;
}

/** Dotted field paths the update names ("linux.resources.memory.limit"), to warn only about those. */
function fieldPaths(r: LinuxResources): string[] {
  const out: string[] = [];
  const walk = (v: unknown, at: string): void => {
    if (isObject(v) && Object.keys(v).length > 0) for (const [k, x] of Object.entries(v)) walk(x, `${at}.${k}`);
    else out.push(at);
  };
  walk(r, 'linux.resources');
  return out;
}

/**
 * Applies an update under the container's lock: the merged resources (the saved ones with
 * `resources` over them) go to the cgroup, so a partial update keeps what earlier ones set (as
 * runc's Set of its whole saved config); Intel RDT schemata to the resctrl group. Only then is the
 * merged set saved in state.json (atomically, store.ts), for later updates, `events` and `ps`.
 */
export function updateContainer(nat: Native, store: Store, id: string, resources: LinuxResources, rdt: RdtUpdate | null = null, rdtOpts: RdtOptions = {}): void {
  const lock = store.lock(id, nat);
  try {
    const c = loadContainer(store, id);
    const status = c.status();
    if (status === 'stopped' || status === 'creating') throw new StatusError('container not running');
    const cg = managerOf(c.state);
    if (!cg && Object.keys(resources).length > 0) throw new TsrunError(`container ${id} has no cgroup (state written without one)`);
    // Refused before any limit changes, as runc checks Intel RDT first.
    const flag = rdt?.l3CacheSchema !== undefined ? '--l3-cache-schema' : '--mem-bw-schema';
    if (rdt && (rdtOpts.root === undefined ? findResctrlMount() : rdtOpts.root) === null) throw new RdtUnavailableError(flag);
    const merged = mergedForUpdate(c.state.resources ?? {}, resources);
    if (cg && Object.keys(resources).length > 0) {
      const asked = fieldPaths(resources);
      for (const f of cg.apply(merged, { update: true })) {
        if (asked.some((a) => a.startsWith(f) || f.startsWith(a))) logWarn(`${f}: not supported by cgroup ${cg.mode}, ignored`);
      }
      c.state.resources = merged;
    }
    if (rdt) c.state.intelRdt = updateIntelRdt(c.state.intelRdt, id, c.state.pid, rdt, rdtOpts);
    c.save();
  } finally {
    lock.release();
  }
}
