/**
 * Container status: derived from facts, never stored (runtime-spec runtime.md "State"), and the one
 * table saying which command may act on which status with runc's error wording.
 *
 * Facts: the phase state.json records ("creating" until oci-init reported ready, then "created"),
 * whether the init (pid + start time) is alive, whether the `tsrun create` that is building it is
 * alive, and whether the exec fifo still exists (`start` removes it once the init was released).
 */

import { StatusError } from '../errors.js';

export type Status = 'creating' | 'created' | 'running' | 'stopped';
export type Phase = 'creating' | 'created';

export interface StatusFacts {
  phase: Phase;
  initAlive: boolean;
  creatorAlive: boolean;
  fifoExists: boolean;
}

export function deriveStatus(f: StatusFacts): Status {
  if (f.phase === 'creating') {
    // A create that died half-way never becomes "created": treat its leftovers as stopped so
    // `delete` can clean them up (runc's equivalent: a state dir without a live init).
    return f.creatorAlive ? 'creating' : 'stopped';
  }
  if (!f.initAlive) return 'stopped';
  return f.fifoExists ? 'created' : 'running';
}

export type Action = 'start' | 'kill' | 'delete' | 'forceDelete' | 'state';

/** null: allowed. A string: the error (`%id` replaced by the container id). */
type Verdict = string | null;

export const TRANSITIONS: Readonly<Record<Status, Readonly<Record<Action, Verdict>>>> = {
  creating: {
    start: 'cannot start a container in the creating state',
    kill: 'container not running',
    delete: 'cannot delete container %id that is not stopped: creating',
    forceDelete: null,
    state: null,
  },
  created: {
    start: null,
    kill: null,
    delete: 'cannot delete container %id that is not stopped: created',
    forceDelete: null,
    state: null,
  },
  running: {
    start: 'cannot start an already running container',
    kill: null,
    delete: 'cannot delete container %id that is not stopped: running',
    forceDelete: null,
    state: null,
  },
  stopped: {
    start: 'cannot start a container that has stopped',
    kill: 'container not running',
    delete: null,
    forceDelete: null,
    state: null,
  },
};

export function checkAction(action: Action, status: Status, id: string): void {
  const verdict = TRANSITIONS[status][action];
  if (verdict !== null) throw new StatusError(verdict.replace('%id', id));
}
