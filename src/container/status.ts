/**
 * Container status: derived from facts, never stored (runtime-spec runtime.md "State"), and the one
 * table saying which command may act on which status with runc's error wording.
 *
 * Facts: the phase state.json records ("creating" until oci-init reported ready, then "created"),
 * whether the init (pid + start time) is alive, whether the `tsrun create` that is building it is
 * alive, and whether the exec fifo still exists (`start` removes it once the init was released).
 */

import { StatusError } from '../errors.js';

export type Status = 'creating' | 'created' | 'running' | 'paused' | 'stopped';
export type Phase = 'creating' | 'created';

export interface StatusFacts {
  phase: Phase;
  initAlive: boolean;
  creatorAlive: boolean;
  fifoExists: boolean;
  /** The container's cgroup is frozen (`pause`): a live init then reads as paused. */
  frozen?: boolean;
}

export function deriveStatus(f: StatusFacts): Status {
  if (f.phase === 'creating') {
    // A create that died half-way never becomes "created": treat its leftovers as stopped so
    // `delete` can clean them up (runc's equivalent: a state dir without a live init).
    return f.creatorAlive ? 'creating' : 'stopped';
  }
  if (!f.initAlive) return 'stopped';
  if (f.frozen) return 'paused';
  return f.fifoExists ? 'created' : 'running';
}

export type Action = 'start' | 'kill' | 'delete' | 'forceDelete' | 'state' | 'pause' | 'resume';

/** null: allowed. A string: the error (`%id` replaced by the container id). */
type Verdict = string | null;

export const TRANSITIONS: Readonly<Record<Status, Readonly<Record<Action, Verdict>>>> = {
  creating: {
    start: 'cannot start a container in the creating state',
    kill: 'container not running',
    delete: 'cannot delete container %id that is not stopped: creating',
    forceDelete: null,
    state: null,
    pause: 'container not running',
    resume: 'container not paused',
  },
  created: {
    start: null,
    kill: null,
    delete: 'cannot delete container %id that is not stopped: created',
    forceDelete: null,
    state: null,
    pause: null,
    resume: 'container not paused',
  },
  running: {
    start: 'cannot start an already running container',
    kill: null,
    delete: 'cannot delete container %id that is not stopped: running',
    forceDelete: null,
    state: null,
    pause: null,
    resume: 'container not paused',
  },
  // runc: a paused container may be signalled (the signal is delivered on resume, SIGKILL by
  // delete --force which thaws it), not started, and deleted only with --force.
  paused: {
    start: 'cannot start a container in the paused state',
    kill: null,
    delete: 'cannot delete container %id that is not stopped: paused',
    forceDelete: null,
    state: null,
    pause: 'container not running',
    resume: null,
  },
  stopped: {
    start: 'cannot start a container that has stopped',
    kill: 'container not running',
    delete: null,
    forceDelete: null,
    state: null,
    pause: 'container not running',
    resume: 'container not paused',
  },
};

export function checkAction(action: Action, status: Status, id: string): void {
  const verdict = TRANSITIONS[status][action];
  if (verdict !== null) throw new StatusError(verdict.replace('%id', id));
}
