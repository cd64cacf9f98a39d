/**
 * The state store: <root>/<id>/{state.json, exec.fifo, lock}.
 *
 * - state.json is replaced atomically (temp file, rename), so a
 *   reader without the lock (`state`, `list`, `kill`) sees the old or the new file, never half.
 * - Commands that change a container (create, start, delete) hold an exclusive flock on `lock`.
 *   `delete` unlinks the lock file while holding it, so a command that waited for the lock finds
 *   its inode unlinked (nlink 0) once it gets it and reports the container gone instead of acting
 *   on a directory that no longer exists.
 */

import {
  closeSync, constants as C, fstatSync, mkdirSync, openSync, readFileSync, readdirSync,
  renameSync, rmdirSync, rmSync, unlinkSync, writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { NotFoundError, TsrunError } from '../errors.js';
import type { Native } from '../native/types.js';
import type { HookSpec } from '../hooks.js';
import type { CgroupState } from '../cgroups/types.js';
import type { ExecDefaults } from '../spec/exec-plan.js';
import type { LinuxResources } from '../spec/types.js';
import type { RdtState } from '../resctrl/index.js';
import type { NetDeviceRecord } from './netdev.js';
import type { Phase } from './status.js';
import { validateId } from './id.js';

export const STATE_FORMAT = 1;

/** What later commands need, so start/delete never re-read the bundle. */
export interface StateFile {
  format: typeof STATE_FORMAT;
  ociVersion: string;
  id: string;
  phase: Phase;
  /** Host pid of the container's init, 0 until spawned. */
  pid: number;
  /** /proc/<pid>/stat field 22 of that init: a recycled pid never reads as alive. */
  pidStartTime: string;
  /** The `tsrun create` building the container: a "creating" container whose creator died is stopped. */
  creatorPid: number;
  creatorStartTime: string;
  bundle: string;
  rootfs: string;
  annotations: Record<string, string>;
  /** RFC 3339 creation time. */
  created: string;
  owner: string;
  hooks: { poststart: HookSpec[]; poststop: HookSpec[] };
  /** The container's cgroup directories (src/cgroups loadManager); absent when create made none. */
  cgroup?: CgroupState;
  /** The config's process, namespaces, seccomp and personality, for `tsrun exec` (absent in
   *  states written before exec existed: exec then reads the bundle's config.json). */
  exec?: ExecDefaults;
  /** linux.resources in effect: the config's at create, merged with each `update` (as runc saves
   *  its config), devices left out (update does not change them). Absent in older states. */
  resources?: LinuxResources;
  /** The container's resctrl group (src/resctrl), when linux.intelRdt or an update made one. */
  intelRdt?: RdtState;
  /** linux.netDevices moved at create (host name, name in the container); a record only: delete
   *  leaves them to the namespace (src/container/netdev.ts). */
  netDevices?: NetDeviceRecord[];
}

/** state.json exists but cannot be understood (truncated, edited, foreign). */
export class CorruptStateError extends TsrunError {
  override name = 'CorruptStateError';
}

export interface Lock {
  release(): void;
}

export class Store {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return join(this.root, id);
  }
  statePath(id: string): string {
    return join(this.root, id, 'state.json');
  }
  fifoPath(id: string): string {
    return join(this.root, id, 'exec.fifo');
  }
  lockPath(id: string): string {
    return join(this.root, id, 'lock');
  }

  /** Make the container's directory; fails if the id is taken. */
  createDir(id: string): void {
    validateId(id);
    // 0700: state.json names the bundle and hooks; nobody else needs to read it (as runc).
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    try {
      mkdirSync(this.dir(id), { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new TsrunError('container with given ID already exists');
      throw e;
    }
  }

  /** Take the container's lock (blocking). `create` makes the lock file; others require it. */
  lock(id: string, nat: Native, create = false): Lock {
    validateId(id);
    let fd: number;
    try {
      fd = openSync(this.lockPath(id), create ? C.O_RDWR | C.O_CREAT : C.O_RDWR, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(id);
      throw e;
    }
    try {
      nat.flock(fd, true, false);
      if (fstatSync(fd).nlink === 0) throw new NotFoundError(id);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    let held = true;
    return {
      release: () => {
        if (held) closeSync(fd);
        held = false;
      },
    };
  }

  exists(id: string): boolean {
    try {
      readFileSync(this.statePath(id));
      return true;
    } catch {
      return false;
    }
  }

  read(id: string): StateFile {
    validateId(id);
    let text: string;
    try {
      text = readFileSync(this.statePath(id), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') {
        throw new NotFoundError(id);
      }
      throw new TsrunError(`reading state of container ${id}`, { cause: e });
    }
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      throw new CorruptStateError(`state of container ${id} is corrupt: ${this.statePath(id)} is not valid JSON`);
    }
    const s = v as Partial<StateFile>;
    if (typeof s !== 'object' || s === null || s.format !== STATE_FORMAT || s.id !== id || typeof s.pid !== 'number') {
      throw new CorruptStateError(`state of container ${id} is corrupt: ${this.statePath(id)} has an unexpected shape`);
    }
    return s as StateFile;
  }

  write(state: StateFile): void {
    const dir = this.dir(state.id);
    const tmp = join(dir, `.state.json.${process.pid}.tmp`);
    const fd = openSync(tmp, C.O_WRONLY | C.O_CREAT | C.O_TRUNC, 0o600);
    try {
      writeSync(fd, JSON.stringify(state));
    } finally {
      closeSync(fd);
    }
    // No fsync (runc does none either): the rename is atomic for the lock-free readers, which is
    // all they need. Durability buys nothing: after a power loss every container is gone, and a
    // state file the crash truncated reads as corrupt, which `delete --force` removes. An fsync
    // costs milliseconds per write where /run is on a disk instead of a tmpfs.
    renameSync(tmp, this.statePath(state.id));
  }

  /** Remove everything of the container; the lock file goes first (see the header comment). */
  remove(id: string): void {
    validateId(id);
    for (const f of [this.lockPath(id), this.statePath(id)]) {
      try {
        unlinkSync(f);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    try {
      // Usually empty by now (start removed the fifo): one rmdir instead of rmSync's walk.
      rmdirSync(this.dir(id));
    } catch {
      rmSync(this.dir(id), { recursive: true, force: true });
    }
  }

  /** Ids of the containers under root (directories that hold a valid id name). */
  ids(): string[] {
    try {
      return readdirSync(this.root, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
        .sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }
}

/** Write a small file atomically (temp + rename, no fsync as Store.write): clients read
 *  --pid-file right away and must never see it empty. */
export function writeFileAtomic(path: string, data: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, C.O_WRONLY | C.O_CREAT | C.O_TRUNC, 0o644);
  try {
    writeSync(fd, data);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
