/**
 * Value conversions shared by the v1 and v2 converters, and the checks runc makes on the spec's
 * numbers. Pure.
 */

import { ConfigError } from '../errors.js';
import type { CgroupWrite } from './types.js';

export const FIELD = 'linux.resources';

export function resourceError(field: string, message: string): ConfigError {
  return new ConfigError('config.json', [`/${field.replaceAll('.', '/')}: ${message}`]);
}

/**
 * cpu.shares (v1, 2..262144, default 1024) → cpu.weight (v2, 1..10000, default 100). The mapping
 * is the one runc and crun adopted so that the defaults meet (1024 → 100) and both ends map to
 * both ends (2 → 1, 262144 → 10000): a parabola in log2(shares), fitted through those three
 * points, as a power of ten. 0 means unset.
 */
export function cpuSharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  const l = Math.log2(shares);
  const exponent = (l * l + 125 * l) / 612 - 7 / 34;
  return Math.min(10000, Math.max(1, Math.ceil(10 ** exponent)));
}

/** blkio.weight (v1, 10..1000) → io.weight (v2, 1..10000), linear as runc. 0 means unset. */
export function blkioWeightToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return 1 + Math.trunc(((weight - 10) * 9999) / 990);
}

/**
 * The v1 pair (memory limit, memory+swap limit) → v2 memory.swap.max, which counts swap alone.
 * -1 means unlimited, 0 unset. Mirrors runc's rules so the same configs are accepted.
 */
export function swapToV2(swap: number, memory: number): number {
  // memory unlimited and swap not given: unlimited both, as v1 behaves.
  if (memory === -1 && swap === 0) return -1;
  if (swap === -1 || swap === 0) return swap;
  if (memory === 0) throw resourceError(`${FIELD}.memory.swap`, 'a swap limit needs a memory limit');
  if (memory < 0) throw resourceError(`${FIELD}.memory.limit`, `invalid memory limit ${memory}`);
  if (swap < memory) throw resourceError(`${FIELD}.memory.swap`, `memory+swap limit ${swap} is below the memory limit ${memory}`);
  return swap - memory;
}

/** v2 numbers: 0 → not written, -1 (or any negative) → "max". */
export function v2Num(n: number | undefined): string | undefined {
  if (n === undefined || n === 0) return undefined;
  return n < 0 ? 'max' : String(n);
}

export function w(controller: string, file: string, value: string, field: string, extra: Partial<CgroupWrite> = {}): CgroupWrite {
  return { controller, file, value, field, ...extra };
}

/** "2MB" / "1GB" as the kernel names hugetlb files; refuse anything else before it becomes a path. */
export function checkPageSize(size: string, field: string): string {
  if (!/^\d+(KB|MB|GB)$/.test(size)) throw resourceError(field, `invalid huge page size "${size}" (want e.g. "2MB" or "1GB")`);
  return size;
}

/** rdma.max line for one device: "<dev> hca_handle=N hca_object=M". */
export function rdmaLine(dev: string, r: { hcaHandles?: number; hcaObjects?: number }, field: string): string | undefined {
  if (/[\s/]/.test(dev) || dev === '' || dev === '..') throw resourceError(field, `invalid rdma device name "${dev}"`);
  const parts: string[] = [];
  if (r.hcaHandles !== undefined) parts.push(`hca_handle=${r.hcaHandles}`);
  if (r.hcaObjects !== undefined) parts.push(`hca_object=${r.hcaObjects}`);
  return parts.length ? `${dev} ${parts.join(' ')}` : undefined;
}
