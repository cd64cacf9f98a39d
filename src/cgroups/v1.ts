/**
 * cgroup v1 manager (v1 and hybrid hosts): one directory per controller hierarchy, plus on hybrid
 * hosts the container's directory in the unified (v2) hierarchy, keyed "", which carries the
 * controllers only v2 offers there (on this kind of host: hugetlb).
 */

import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LinuxResources } from '../spec/types.js';
import { TsrunError } from '../errors.js';
import type { ApplyOptions, CgroupManager } from './manager.js';
import type { CgroupState, CgroupStats, CgroupWrite } from './types.js';
import { hierarchyDir, type InnerPath } from './path.js';
import { readHostMounts } from './detect.js';
import { v1Writes } from './resources-v1.js';
import { v2Ancestors, applyWrite, makeCgroupDir, removeCreatedParents, pidsRecursive, readNumber, readOptional, readText, removeCgroup, signalPids, waitFor, writeFile } from './fsops.js';
import { v1Stats } from './stats.js';

/** The hierarchies the container joins. Of the named ones only name=systemd, as runc (its fs
 *  driver joins it so systemd-aware tools see the container's cgroup): no limits are written there,
 *  only the container's own directory is made and removed. Other named hierarchies are the host's. */
const CONTROLLERS = ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'hugetlb', 'net_cls', 'net_prio', 'rdma', 'perf_event', 'misc', 'name=systemd'];

export function v1Layout(inner: InnerPath, own: Map<string, string>, fakeRoot: string | undefined, hybrid: boolean): Record<string, string> {
  const paths: Record<string, string> = {};
  if (fakeRoot !== undefined) {
    for (const c of readdirSync(fakeRoot)) {
      if (c === 'unified') paths[''] = hierarchyDir(join(fakeRoot, c), '/', own.get('') ?? '/', inner, true);
      else if (CONTROLLERS.includes(c)) paths[c] = hierarchyDir(join(fakeRoot, c), '/', own.get(c) ?? '/', inner, false);
    }
    return paths;
  }
  const mounts = readHostMounts();
  for (const [c, m] of mounts.v1) {
    if (CONTROLLERS.includes(c)) paths[c] = hierarchyDir(m.mountpoint, m.root, own.get(c) ?? '/', inner, false);
  }
  if (hybrid && mounts.unified) paths[''] = hierarchyDir(mounts.unified.mountpoint, mounts.unified.root, own.get('') ?? '/', inner, true);
  return paths;
}

export class V1Manager implements CgroupManager {
  readonly mode = 'v1' as const;

  constructor(
    private readonly paths: Record<string, string>,
    private readonly created: string[] = [],
  ) {}

  /** Distinct directories (co-mounted controllers such as cpu,cpuacct share one). */
  private dirs(): string[] {
    return [...new Set(Object.values(this.paths))];
  }

  create(): void {
    const done: string[] = [];
    try {
      for (const dir of this.dirs()) {
        const top = makeCgroupDir(dir);
        done.push(dir);
        if (top !== undefined) this.created.push(top);
      }
    } catch (e) {
      // One hierarchy refused the directory: the ones already made go, so nothing is left.
      for (const dir of done) {
        removeCgroup(dir);
        for (const top of this.created) removeCreatedParents(dir, top);
      }
      throw e;
    }
    if (this.paths.cpuset) inheritCpuset(this.paths.cpuset);
  }

  openForClone(): number {
    return -1;
  }

  addProcess(pid: number): void {
    for (const dir of this.dirs()) writeFile(join(dir, 'cgroup.procs'), String(pid));
  }

  apply(resources: LinuxResources, opts: ApplyOptions = {}): string[] {
    const memDir = this.paths.memory;
    let currentMemoryLimit = 0;
    if (resources.memory && memDir) {
      // Needed to order the memory and memsw writes (resources-v1.ts); "max" reads as unlimited.
      currentMemoryLimit = readNumber(join(memDir, 'memory.limit_in_bytes'));
      if (currentMemoryLimit >= Number.MAX_SAFE_INTEGER) currentMemoryLimit = -1;
      if (opts.update && resources.memory.checkBeforeUpdate) checkBeforeUpdate(memDir, resources.memory.limit);
    }
    const writes = v1Writes(resources, { currentMemoryLimit, deviceRules: opts.deviceRules });
    for (const wr of writes) this.write(wr);
    return [];
  }

  private write(wr: CgroupWrite): void {
    const dir = this.paths[wr.controller];
    if (dir) return applyWrite(dir, wr);
    // Hybrid hosts: hugetlb may be offered only by the unified hierarchy, with v2 file names.
    const unified = this.paths[''];
    if (wr.controller === 'hugetlb' && unified) {
      enableController(unified, 'hugetlb');
      return applyWrite(unified, { ...wr, controller: '', file: wr.file.replace(/\.limit_in_bytes$/, '.max') });
    }
    if (wr.optional) return;
    throw new TsrunError(`${wr.field}: the ${wr.controller} cgroup controller is not mounted on this host`);
  }

  pids(): number[] {
    const all = new Set<number>();
    for (const dir of this.dirs()) pidsRecursive(dir, all);
    return [...all].sort((a, b) => a - b);
  }

  freeze(): void {
    const dir = this.need('freezer');
    // FREEZING may linger while tasks are in uninterruptible sleep: rewrite until FROZEN.
    const ok = waitFor(() => {
      writeFile(join(dir, 'freezer.state'), 'FROZEN');
      return readText(join(dir, 'freezer.state')) === 'FROZEN';
    }, 2000);
    if (!ok) {
      writeFile(join(dir, 'freezer.state'), 'THAWED');
      throw new TsrunError(`freezing ${dir}: still not frozen after 2 s`);
    }
  }

  thaw(): void {
    writeFile(join(this.need('freezer'), 'freezer.state'), 'THAWED');
  }

  frozen(): boolean {
    const dir = this.paths.freezer;
    return dir !== undefined && readOptional(join(dir, 'freezer.state')) === 'FROZEN';
  }

  killAll(signal: number): void {
    if (!this.dirs().some((d) => existsSync(d))) return; // already destroyed
    // Frozen, no process can fork a child that the pid list below misses (runc does the same).
    // A paused container stays paused (kill of a paused container is allowed, as runc).
    const canFreeze = this.paths.freezer !== undefined && existsSync(this.paths.freezer) && !this.frozen();
    try {
      if (canFreeze) this.freeze();
      try {
        signalPids(this.pids(), signal);
      } finally {
        if (canFreeze) this.thaw();
      }
    } catch (e) {
      // Containers may share one cgroup directory; a concurrent delete of another one can remove it
      // under us. Once it is gone there is nothing left to signal or to thaw.
      if (this.paths.freezer !== undefined && !existsSync(this.paths.freezer)) return;
      throw e;
    }
  }

  stats(): CgroupStats {
    return v1Stats(this.paths);
  }

  destroy(): void {
    for (const dir of this.dirs()) {
      removeCgroup(dir);
      for (const top of this.created) removeCreatedParents(dir, top);
    }
  }

  toState(): CgroupState {
    return { mode: 'v1', paths: { ...this.paths }, created: [...this.created] };
  }

  private need(controller: string): string {
    const dir = this.paths[controller];
    if (!dir) throw new TsrunError(`the ${controller} cgroup controller is not mounted on this host`);
    return dir;
  }
}

/** A new v1 cpuset starts with empty cpus and mems, and no task can join it until they are set:
 *  copy them down from the nearest ancestor that has them (what runc's cpuset ensureParent does). */
function inheritCpuset(dir: string): void {
  const chain: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    const cpus = readOptional(join(d, 'cpuset.cpus'));
    if (cpus === undefined) return; // left the hierarchy without finding values: nothing to copy
    if (cpus !== '' && readOptional(join(d, 'cpuset.mems')) !== '') break;
    chain.unshift(d);
    if (d === dirname(d)) return;
  }
  for (const d of chain) {
    for (const f of ['cpuset.cpus', 'cpuset.mems']) {
      if (readText(join(d, f)) === '') writeFile(join(d, f), readText(join(dirname(d), f)));
    }
  }
}

/** Refuse an update that sets the limit below what the container already uses
 *  (config-linux.md memory.checkBeforeUpdate). */
function checkBeforeUpdate(dir: string, limit: number | undefined): void {
  if (limit === undefined || limit <= 0) return;
  const usage = readNumber(join(dir, 'memory.usage_in_bytes'));
  if (usage > limit) throw new TsrunError(`linux.resources.memory.limit: ${limit} is below the current usage ${usage} (checkBeforeUpdate)`);
}

/** v2 parents must delegate a controller (cgroup.subtree_control) before a child has its files.
 *  Enables it from the hierarchy root down to the parent of `dir`, only where missing. */
export function enableController(dir: string, controller: string): void {
  for (const d of v2Ancestors(dir)) {
    const enabled = readText(join(d, 'cgroup.subtree_control')).split(' ');
    if (!enabled.includes(controller)) writeFile(join(d, 'cgroup.subtree_control'), `+${controller}`);
  }
}
