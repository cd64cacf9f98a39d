/**
 * `tsrun update`: new linux.resources for a live container, as runc: either the whole object from
 * `--resources FILE|-` (dockerd pipes it on stdin), or runc's single-value flags. Devices are not
 * changed (runc's update does not touch them either).
 */

import { readFileSync } from 'node:fs';
import { StatusError, TsrunError, UsageError } from '../errors.js';
import { logWarn } from '../log.js';
import type { LinuxResources } from '../spec/types.js';
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
  for (const flag of ['l3-cache-schema', 'mem-bw-schema']) {
    if (s(flag) !== undefined) throw new TsrunError(`--${flag}: Intel RDT (linux.intelRdt) is not supported by tsrun`);
  }
  return r;
}

/** Applies `resources` to the container's cgroup (memory.checkBeforeUpdate honoured). */
export function updateContainer(nat: Native, store: Store, id: string, resources: LinuxResources): void {
  const lock = store.lock(id, nat);
  try {
    const c = loadContainer(store, id);
    const status = c.status();
    if (status === 'stopped' || status === 'creating') throw new StatusError('container not running');
    const cg = managerOf(c.state);
    if (!cg) throw new TsrunError(`container ${id} has no cgroup (state written without one)`);
    for (const f of cg.apply(resources, { update: true })) logWarn(`${f}: not supported by cgroup ${cg.mode}, ignored`);
  } finally {
    lock.release();
  }
}
