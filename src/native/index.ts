/**
 * Loader of the C++ addon (build/Release/tsrun.node). Loaded lazily and once: a command that
 * makes no system call of its own (`state`, `list`, `spec`) never pays for dlopen.
 *
 * The package root is found from this module's own URL, never from PATH, HOME or the cwd: the code
 * runs as src/native/index.ts under vitest and bundled as dist/tsrun.mjs.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { TsrunError } from '../errors.js';
import type { Native } from './types.js';

export type { MovedNetDevice, Native, SpawnInitOptions, SpawnInitResult, WaitResult } from './types.js';

const ADDON = join('build', 'Release', 'tsrun.node');

let root: string | undefined;
let loaded: Native | undefined;

/** The directory holding package.json and build/: the first of "..", "../.." (from this file's
 *  directory) that has build/Release/tsrun.node. */
export function packageRoot(): string {
  if (root !== undefined) return root;
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, '..'), resolve(here, '..', '..')];
  const found = candidates.find((dir) => existsSync(join(dir, ADDON)));
  if (found === undefined) {
    throw new TsrunError(`native addon not found: no ${ADDON} under ${candidates.join(' or ')} (run npm run build)`);
  }
  root = found;
  return root;
}

/** Absolute path of the oci-init binary that spawnInit copies into a sealed memfd. */
export function ociInitPath(): string {
  return join(packageRoot(), 'build', 'Release', 'oci-init');
}

/** The addon if this process has loaded it already, else undefined (never loads it). */
export function loadedNative(): Native | undefined {
  return loaded;
}

/** The addon, loaded on first use. */
export function native(): Native {
  if (loaded !== undefined) return loaded;
  // process.dlopen, not require(): the addon is one known file, and require's resolution, stat
  // and realpath calls cost about 2 ms of every command that signals, waits or spawns.
  const mod = { exports: {} as Native };
  process.dlopen(mod, join(packageRoot(), ADDON));
  const raw = mod.exports;
  loaded = Object.freeze({ ...raw, constants: strictConstants(raw.constants) });
  return loaded;
}

/** Reading a constant the addon does not export is a programming error, not `undefined` flowing
 *  into a flags word: names that look like C constants (upper case) and are missing throw. */
export function strictConstants(table: Record<string, number>): Record<string, number> {
  return new Proxy(table, {
    get(target, key, receiver) {
      if (typeof key === 'string' && !(key in target) && /^[A-Z][A-Z0-9_]*$/.test(key)) {
        throw new TsrunError(`unknown native constant ${key}`);
      }
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
}
