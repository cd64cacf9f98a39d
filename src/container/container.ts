/**
 * A container as the commands see it: its saved state plus the live status derived from /proc and
 * the exec fifo, and the two JSON shapes it is shown in (the spec's state for hooks, runc's
 * containerState for `state` and `list --format json`).
 */

import { existsSync } from 'node:fs';
import { isAlive } from '../process/procfs.js';
import { deriveStatus, type Status, type StatusFacts } from './status.js';
import { isFrozen } from './cgroup.js';
import type { StateFile, Store } from './store.js';

/** runtime-spec runtime.md "State". */
export interface OciState {
  ociVersion: string;
  id: string;
  status: Status;
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
}

/** runc's containerState (field order as runc prints it). */
export interface RuncState {
  ociVersion: string;
  id: string;
  pid: number;
  status: Status;
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
  owner: string;
}

export class Container {
  constructor(
    readonly store: Store,
    public state: StateFile,
  ) {}

  get id(): string {
    return this.state.id;
  }

  facts(): StatusFacts {
    const s = this.state;
    const initAlive = isAlive(s.pid, s.pidStartTime);
    return {
      phase: s.phase,
      initAlive,
      frozen: initAlive && isFrozen(s),
      creatorAlive: s.creatorPid === process.pid || isAlive(s.creatorPid, s.creatorStartTime),
      fifoExists: existsSync(this.store.fifoPath(s.id)),
    };
  }

  status(): Status {
    return deriveStatus(this.facts());
  }

  ociState(status: Status = this.status()): OciState {
    const s = this.state;
    const out: OciState = { ociVersion: s.ociVersion, id: s.id, status, pid: s.pid, bundle: s.bundle };
    if (status === 'stopped' || s.pid <= 0) delete out.pid;
    if (Object.keys(s.annotations).length > 0) out.annotations = s.annotations;
    return out;
  }

  ociStateJson(status?: Status): string {
    return JSON.stringify(this.ociState(status));
  }

  runcState(status: Status = this.status()): RuncState {
    const s = this.state;
    // Built in runc's key order: annotations (when any) come before owner.
    const annotations = Object.keys(s.annotations).length > 0 ? { annotations: s.annotations } : {};
    return {
      ociVersion: s.ociVersion,
      id: s.id,
      // runc shows 0 once the init is gone: the stored pid may belong to someone else by now.
      pid: status === 'stopped' ? 0 : s.pid,
      status,
      bundle: s.bundle,
      rootfs: s.rootfs,
      created: s.created,
      ...annotations,
      owner: s.owner,
    };
  }

  save(): void {
    this.store.write(this.state);
  }
}

export function loadContainer(store: Store, id: string): Container {
  return new Container(store, store.read(id));
}
