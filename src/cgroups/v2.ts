/**
 * cgroup v2 manager: one directory in the unified hierarchy. Controllers are delegated from the
 * hierarchy root down to the container's parent (cgroup.subtree_control), devices are an eBPF
 * program, freezing is cgroup.freeze and killing everything is cgroup.kill.
 */

import { closeSync, constants, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { LinuxResources } from '../spec/types.js';
import { TsrunError } from '../errors.js';
import type { ApplyOptions, CgroupManager } from './manager.js';
import type { CgroupState, CgroupStats } from './types.js';
import { hierarchyDir, type InnerPath } from './path.js';
import type { CgroupMount } from './detect.js';
import { v2Writes } from './resources-v2.js';
import { normalizeDeviceRules } from './devices.js';
import { deviceProgram, encodeProgram, type DeviceProgramLoader } from './devices-bpf.js';
import { v2Ancestors, applyWrite, makeCgroupDir, removeCreatedParents, keyValues, pidsRecursive, readOptional, readText, removeCgroup, signalPids, waitFor, writeFile } from './fsops.js';
import { v2Stats } from './stats.js';

export function v2Dir(mount: CgroupMount, own: Map<string, string>, inner: InnerPath): string {
  return hierarchyDir(mount.mountpoint, mount.root, own.get('') ?? '/', inner, true);
}

export class V2Manager implements CgroupManager {
  readonly mode = 'v2' as const;

  constructor(
    private readonly dir: string,
    private readonly loadDeviceProgram?: DeviceProgramLoader,
    private created: string[] = [],
  ) {
    if (dir === '') throw new TsrunError('cgroup state has no v2 directory');
  }

  create(): void {
    const top = makeCgroupDir(this.dir);
    if (top !== undefined) this.created = [top];
    delegateControllers(this.dir);
  }

  openForClone(): number {
    try {
      return openSync(this.dir, constants.O_RDONLY | constants.O_DIRECTORY);
    } catch (e) {
      throw new TsrunError(`opening cgroup ${this.dir}`, { cause: e });
    }
  }

  addProcess(pid: number): void {
    writeFile(join(this.dir, 'cgroup.procs'), String(pid));
  }

  apply(resources: LinuxResources, opts: ApplyOptions = {}): string[] {
    if (opts.update && resources.memory?.checkBeforeUpdate) checkBeforeUpdate(this.dir, resources.memory.limit);
    const plan = v2Writes(resources);
    for (const wr of plan.writes) applyWrite(this.dir, wr);
    const rules = opts.deviceRules ?? (resources.devices ? normalizeDeviceRules(resources.devices) : undefined);
    if (rules) {
      if (this.loadDeviceProgram) this.attachDevices(rules);
      else plan.ignored.push('linux.resources.devices (no eBPF device program loader yet)');
    }
    return plan.ignored;
  }

  private attachDevices(rules: ReturnType<typeof normalizeDeviceRules>): void {
    const fd = this.openForClone();
    try {
      this.loadDeviceProgram!(encodeProgram(deviceProgram(rules)), fd);
    } catch (e) {
      throw new TsrunError(`linux.resources.devices: attaching the device program to ${this.dir}`, { cause: e });
    } finally {
      closeSync(fd);
    }
  }

  pids(): number[] {
    return [...pidsRecursive(this.dir)].sort((a, b) => a - b);
  }

  freeze(): void {
    this.setFrozen(true);
  }

  thaw(): void {
    this.setFrozen(false);
  }

  private setFrozen(on: boolean): void {
    writeFile(join(this.dir, 'cgroup.freeze'), on ? '1' : '0');
    // The write returns before every task has stopped; cgroup.events says when it is done.
    if (!waitFor(() => this.frozen() === on, 2000)) {
      if (on) writeFile(join(this.dir, 'cgroup.freeze'), '0');
      throw new TsrunError(`${on ? 'freezing' : 'thawing'} ${this.dir}: not done after 2 s`);
    }
  }

  frozen(): boolean {
    return keyValues(readOptional(join(this.dir, 'cgroup.events'))).frozen === 1;
  }

  killAll(signal: number): void {
    if (!existsSync(this.dir)) return; // already destroyed: no process can be left in it
    // cgroup.kill (Linux 5.14) kills the whole subtree atomically, forks included.
    if (signal === 9 && existsSync(join(this.dir, 'cgroup.kill'))) {
      writeFile(join(this.dir, 'cgroup.kill'), '1');
      return;
    }
    const wasFrozen = this.frozen();
    if (!wasFrozen) this.freeze();
    try {
      signalPids(this.pids(), signal);
    } finally {
      if (!wasFrozen) this.thaw();
    }
  }

  stats(): CgroupStats {
    return v2Stats(this.dir);
  }

  destroy(): void {
    removeCgroup(this.dir);
    for (const top of this.created) removeCreatedParents(this.dir, top);
  }

  toState(): CgroupState {
    return { mode: 'v2', paths: { '': this.dir }, created: [...this.created] };
  }
}

/**
 * Enable in every ancestor (root first) the controllers its own parent offers, so the container's
 * directory gets every controller file. Only missing ones are written; one at a time, because a
 * controller that cannot be enabled somewhere (e.g. a threaded subtree) must not stop the others.
 */
function delegateControllers(dir: string): void {
  for (const d of v2Ancestors(dir)) {
    const available = readText(join(d, 'cgroup.controllers')).split(' ').filter(Boolean);
    const enabled = new Set(readText(join(d, 'cgroup.subtree_control')).split(' '));
    for (const c of available) {
      if (enabled.has(c)) continue;
      try {
        writeFile(join(d, 'cgroup.subtree_control'), `+${c}`);
      } catch {
        // Left to surface where it matters: a resource write then names the missing file.
      }
    }
  }
}

function checkBeforeUpdate(dir: string, limit: number | undefined): void {
  if (limit === undefined || limit <= 0) return;
  const usage = Number(readOptional(join(dir, 'memory.current')) ?? 0);
  if (usage > limit) throw new TsrunError(`linux.resources.memory.limit: ${limit} is below the current usage ${usage} (checkBeforeUpdate)`);
}
