/**
 * `tsrun events`: runc's JSON event stream for one container. `--stats` prints one
 * {"type":"stats","id":..,"data":{..}} line; otherwise a stats line every interval plus an
 * {"type":"oom","id":..} line per OOM kill, until the container stops. OOM comes from the v1
 * memory.oom_control notification (an eventfd registered in cgroup.event_control) or, on v2 (and
 * v1 kernels that refuse the registration), from the oom_kill counter growing.
 */

import { closeSync, constants as C, existsSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { TsrunError } from '../errors.js';
import { logError } from '../log.js';
import type { Native } from '../native/types.js';
import { isAlive } from '../process/procfs.js';
import { writeFile } from '../cgroups/fsops.js';
import type { CgroupManager } from '../cgroups/manager.js';
import { managerOf } from './cgroup.js';
import { loadContainer } from './container.js';
import type { Store } from './store.js';

/** How often the OOM source and the init are looked at between stats lines. */
const POLL_MS = 100;

export interface EventsOptions {
  stats: boolean;
  intervalMs: number;
}

type Write = (line: string) => void;

/** Go's time.ParseDuration for the forms runc users pass: "5s", "100ms", "1m30s", "1.5s". */
export function parseDuration(text: string): number {
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, '\u00b5s': 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };
  const re = /(\d+(?:\.\d+)?)(ns|us|\u00b5s|ms|s|m|h)/gy;
  let ms = 0;
  let end = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    ms += Number(m[1]) * (unit[m[2] as string] as number);
    end = re.lastIndex;
  }
  if (text === '' || end !== text.length) throw new TsrunError(`invalid value "${text}" for flag -interval: parse error`);
  if (ms <= 0) throw new TsrunError('duration interval must be greater than 0');
  return ms;
}

/** A source of OOM kills; `poll` returns how many happened since the last call. */
interface OomWatch {
  poll(): number;
  close(): void;
}

function counterWatch(cg: CgroupManager): OomWatch {
  const read = (): number => {
    try {
      return cg.stats().memory.event_count.oom_kill ?? 0;
    } catch {
      return 0;
    }
  };
  let last = read();
  return {
    poll: () => {
      const now = read();
      const n = Math.max(0, now - last);
      last = now;
      return n;
    },
    close: () => undefined,
  };
}

/** cgroup-v1 memory.rst "OOM Control": write "<eventfd> <fd of memory.oom_control>" to
 *  cgroup.event_control; each OOM adds to the eventfd's counter. Removal of the cgroup also
 *  signals it, told apart by event_control being gone (as runc does). */
function v1EventfdWatch(nat: Native, memDir: string): OomWatch | null {
  let efd = -1;
  let ocfd = -1;
  try {
    efd = nat.eventfd(true);
    ocfd = openSync(join(memDir, 'memory.oom_control'), C.O_RDONLY);
    writeFile(join(memDir, 'cgroup.event_control'), `${efd} ${ocfd}`);
  } catch {
    if (efd >= 0) closeSync(efd);
    if (ocfd >= 0) closeSync(ocfd);
    return null;
  }
  const buf = Buffer.alloc(8);
  return {
    poll: () => {
      try {
        if (readSync(efd, buf, 0, 8, null) !== 8) return 0;
      } catch {
        return 0; // EAGAIN: nothing new
      }
      return existsSync(join(memDir, 'cgroup.event_control')) ? Number(buf.readBigUInt64LE(0)) : 0;
    },
    close: () => {
      closeSync(efd);
      closeSync(ocfd);
    },
  };
}

function oomWatch(nat: Native, cg: CgroupManager, memDir: string | undefined): OomWatch {
  if (cg.mode === 'v1' && memDir !== undefined) return v1EventfdWatch(nat, memDir) ?? counterWatch(cg);
  return counterWatch(cg);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function containerEvents(nat: Native, store: Store, id: string, opts: EventsOptions, write: Write): Promise<void> {
  const c = loadContainer(store, id);
  if (c.status() === 'stopped') throw new TsrunError(`container with id ${id} is not running`);
  const cg = managerOf(c.state);
  if (!cg) throw new TsrunError(`container ${id} has no cgroup (state written without one)`);
  const statsLine = (): void => {
    try {
      write(JSON.stringify({ type: 'stats', id, data: cg.stats() }) + '\n');
    } catch (e) {
      if (opts.stats) throw e;
      logError(`reading stats of ${id}: ${(e as Error).message}`); // runc logs and keeps going
    }
  };
  if (opts.stats) return statsLine();
  const oom = oomWatch(nat, cg, c.state.cgroup?.paths.memory);
  const oomLines = (): void => {
    for (let n = oom.poll(); n > 0; n--) write(JSON.stringify({ type: 'oom', id }) + '\n');
  };
  try {
    let next = Date.now() + opts.intervalMs;
    while (isAlive(c.state.pid, c.state.pidStartTime)) {
      oomLines();
      if (Date.now() >= next) {
        statsLine();
        next += opts.intervalMs;
      }
      await sleep(Math.min(POLL_MS, Math.max(1, next - Date.now())));
    }
    oomLines(); // an OOM kill of the init itself is counted by the time it is reaped
  } finally {
    oom.close();
  }
}
