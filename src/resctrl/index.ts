/**
 * linux.intelRdt (runtime-spec v1.3.0 config-linux.md "IntelRdt"): the container's resctrl group.
 *
 * As runc's libcontainer/intelrdt: the resctrl mount is found in /proc/self/mountinfo (none: the
 * spec says the runtime MUST generate an error); the group is `closID`, or the container id; the
 * init's pid goes to its `tasks`; `enableMonitoring` adds a monitoring group mon_groups/<id>.
 * Only what tsrun made is removed at delete: a pre-configured closID group is left as it was.
 *
 * The resctrl root is a parameter everywhere, so unit tests use a temp directory standing in for
 * the mount (test/unit/rdt-*.test.ts).
 */

import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { TsrunError } from '../errors.js';
import { logWarn } from '../log.js';
import type { LinuxIntelRdt } from '../spec/types.js';

const AT = '/linux/intelRdt';

/** What later commands need to find the group again (state.json `intelRdt`). */
export interface RdtState {
  /** The group directory (<resctrl mount>/<closID or id>). */
  group: string;
  /** tsrun made the group (delete removes it); false for a pre-configured closID group. */
  createdGroup: boolean;
  /** enableMonitoring: <group>/mon_groups/<id>, made by tsrun; null when not asked for. */
  monitor: string | null;
}

/** The error for a host without resctrl, in runc's words plus the field it comes from. */
export class RdtUnavailableError extends TsrunError {
  override name = 'RdtUnavailableError';
  constructor(what = AT) {
    super(`${what}: intelRdt is specified in config, but Intel RDT is not supported or enabled (no resctrl filesystem is mounted on this host)`);
  }
}

function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The first resctrl mount point in `mountinfo` text, or null (proc(5) mountinfo layout). */
export function resctrlMountFrom(mountinfo: string): string | null {
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    if (line.slice(sep + 3).split(' ')[0] !== 'resctrl') continue;
    const mountPoint = line.slice(0, sep).split(' ')[4];
    if (mountPoint !== undefined) return unescapeMountinfo(mountPoint);
  }
  return null;
}

/** The host's resctrl mount (runtime mount namespace, as the spec asks), or null. */
export function findResctrlMount(mountinfoPath = '/proc/self/mountinfo'): string | null {
  try {
    return resctrlMountFrom(readFileSync(mountinfoPath, 'utf8'));
  } catch {
    return null;
  }
}

/** Names the resctrl root already uses for its own files; a group name must be a single,
 *  ordinary path component so nothing outside the mount (or its info tree) is ever touched. */
const RESERVED = new Set(['.', '..', 'info', 'mon_groups', 'mon_data', 'tasks', 'cpus', 'cpus_list', 'schemata', 'mode', 'size']);

export function checkGroupName(name: string, at: string): void {
  if (name === '' || name.includes('/') || name.includes('\0') || RESERVED.has(name)) {
    throw new TsrunError(`${at}: ${JSON.stringify(name)} is not a valid resctrl group name`);
  }
}

/** Problems with the config's intelRdt that need no host (config-linux.md rules). */
export function intelRdtProblems(rdt: LinuxIntelRdt): string[] {
  const out: string[] = [];
  if (rdt.closID !== undefined) {
    try {
      checkGroupName(rdt.closID, `${AT}/closID`);
    } catch (e) {
      out.push((e as Error).message);
    }
  }
  const mb = rdt.memBwSchema;
  // "The value MUST start with MB: and MUST NOT contain newlines."
  if (mb !== undefined && (!mb.startsWith('MB:') || mb.includes('\n'))) out.push(`${AT}/memBwSchema: must start with "MB:" and be one line, got ${JSON.stringify(mb)}`);
  return out;
}

function lines(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

/** The l3CacheSchema/memBwSchema lines to write, combined as the spec says: with both set, the
 *  MB: line comes from memBwSchema, the rest from l3CacheSchema. [] when neither is set. */
export function cacheAndBandwidthLines(rdt: Pick<LinuxIntelRdt, 'l3CacheSchema' | 'memBwSchema'>): string[] {
  const mb = rdt.memBwSchema ? lines(rdt.memBwSchema) : [];
  let l3 = rdt.l3CacheSchema ? lines(rdt.l3CacheSchema) : [];
  if (mb.length > 0) l3 = l3.filter((l) => !l.startsWith('MB:'));
  return [...l3, ...mb];
}

/** One schemata line as resource -> domain -> value; cache masks are hex, MB values decimal
 *  (the kernel pads both when it prints them, so they are compared as numbers). */
function parseLine(line: string): { res: string; domains: Map<string, bigint> } | null {
  const colon = line.indexOf(':');
  if (colon < 0) return null;
  const res = line.slice(0, colon).trim();
  const hex = !/^(MB|SMBA)$/.test(res);
  const domains = new Map<string, bigint>();
  for (const part of line.slice(colon + 1).split(';')) {
    const [id, value] = part.split('=').map((s) => s.trim());
    if (id === undefined || value === undefined || value === '') return null;
    try {
      domains.set(id, BigInt(hex ? `0x${value}` : value));
    } catch {
      return null;
    }
  }
  return { res, domains };
}

/** The wanted lines that the group's current `schemata` text does not match. */
export function schemataMismatches(wanted: string[], current: string): string[] {
  const have = new Map<string, Map<string, bigint>>();
  for (const l of lines(current)) {
    const p = parseLine(l);
    if (p) have.set(p.res, p.domains);
  }
  return wanted.filter((w) => {
    const p = parseLine(w);
    const h = p ? have.get(p.res) : undefined;
    if (!p || !h) return true;
    return [...p.domains].some(([id, v]) => h.get(id) !== v);
  });
}

function write(dir: string, file: string, data: string, what: string): void {
  try {
    writeFileSync(join(dir, file), data);
  } catch (e) {
    throw new TsrunError(`${what}: writing ${JSON.stringify(data.trim())} to ${join(dir, file)}: ${(e as Error).message}`);
  }
}

function writeSchemata(group: string, rdt: LinuxIntelRdt): void {
  const first = cacheAndBandwidthLines(rdt);
  // Separate writes: the kernel refuses a domain given twice in one write, and the spec wants
  // `schemata` applied after (so over) l3CacheSchema/memBwSchema.
  if (first.length > 0) write(group, 'schemata', first.join('\n') + '\n', AT);
  const rest = lines((rdt.schemata ?? []).join('\n'));
  if (rest.length > 0) write(group, 'schemata', rest.join('\n') + '\n', `${AT}/schemata`);
}

export interface RdtOptions {
  /** The resctrl mount; default: found in /proc/self/mountinfo. */
  root?: string | null;
  /** Removes a group directory; default rmdir(2), which resctrl accepts for a group with its
   *  files (a plain directory standing in for resctrl in tests needs a recursive removal). */
  removeDir?: (dir: string) => void;
}

function rootOf(opts: RdtOptions, what = AT): string {
  const root = opts.root === undefined ? findResctrlMount() : opts.root;
  if (root === null) throw new RdtUnavailableError(what);
  return root;
}

/**
 * Creates (or, for a pre-configured closID, checks) the container's group and writes its
 * schemata; the pid is added later (addTask). On failure whatever was made here is removed.
 */
export function setupIntelRdt(rdt: LinuxIntelRdt, id: string, opts: RdtOptions = {}): RdtState {
  const problems = intelRdtProblems(rdt);
  if (problems.length > 0) throw new TsrunError(problems.join('; '));
  const root = rootOf(opts);
  const name = rdt.closID ?? id;
  checkGroupName(name, `${AT}/closID`);
  const group = join(root, name);
  const wanted = cacheAndBandwidthLines(rdt);
  const hasSchema = wanted.length > 0 || (rdt.schemata ?? []).length > 0;
  const exists = existsSync(group);
  if (rdt.closID !== undefined && exists && wanted.length > 0) {
    // config-linux.md: an existing closID group's schemata MUST match l3CacheSchema/memBwSchema.
    const bad = schemataMismatches(wanted, readFileSync(join(group, 'schemata'), 'utf8'));
    if (bad.length > 0) throw new TsrunError(`${AT}: closID group ${JSON.stringify(name)} exists and its schemata do not match ${bad.map((b) => JSON.stringify(b)).join(', ')}`);
  }
  if (rdt.closID !== undefined && !exists && !hasSchema) {
    throw new TsrunError(`${AT}/closID: no pre-configured resctrl group ${JSON.stringify(name)} in ${root} (and no schemata to create one with)`);
  }
  const state: RdtState = { group, createdGroup: false, monitor: null };
  try {
    if (!exists) {
      try {
        mkdirSync(group);
      } catch (e) {
        // ENOSPC: the hardware has no free CLOSID left.
        throw new TsrunError(`${AT}: creating resctrl group ${group}: ${(e as Error).message}`);
      }
      state.createdGroup = true;
    }
    if (state.createdGroup || rdt.closID === undefined) writeSchemata(group, rdt);
    else if ((rdt.schemata ?? []).length > 0) writeSchemata(group, { schemata: rdt.schemata });
    if (rdt.enableMonitoring) {
      const mon = join(group, 'mon_groups', id);
      try {
        mkdirSync(mon);
      } catch (e) {
        throw new TsrunError(`${AT}/enableMonitoring: creating ${mon}: ${(e as Error).message}`);
      }
      state.monitor = mon;
    }
    return state;
  } catch (e) {
    removeIntelRdt(state, opts);
    throw e;
  }
}

/** Puts `pid` in the group (and its monitoring group: the kernel wants the control group first). */
export function addTask(state: RdtState, pid: number): void {
  write(state.group, 'tasks', `${pid}\n`, AT);
  if (state.monitor !== null) write(state.monitor, 'tasks', `${pid}\n`, `${AT}/enableMonitoring`);
}

/** `update --l3-cache-schema/--mem-bw-schema`: as runc, a container created without intelRdt
 *  gets a group named after it, holding its init, first. Returns the (possibly new) state. */
export function updateIntelRdt(state: RdtState | undefined, id: string, pid: number, schema: Pick<LinuxIntelRdt, 'l3CacheSchema' | 'memBwSchema'>, opts: RdtOptions = {}): RdtState {
  const what = schema.l3CacheSchema !== undefined ? '--l3-cache-schema' : '--mem-bw-schema';
  let s = state;
  if (s === undefined) {
    s = setupIntelRdt({}, id, { ...opts, root: rootOf(opts, what) });
    try {
      addTask(s, pid);
    } catch (e) {
      removeIntelRdt(s, opts);
      throw e;
    }
  } else {
    const root = rootOf(opts, what);
    const bad = rdtStateProblem(s, root);
    if (bad !== null) throw new TsrunError(`${what}: state: intelRdt ${bad}`);
    if (!existsSync(s.group)) throw new TsrunError(`${what}: the container's resctrl group ${s.group} is gone`);
  }
  const wanted = cacheAndBandwidthLines(schema);
  if (wanted.length > 0) write(s.group, 'schemata', wanted.join('\n') + '\n', what);
  return s;
}

function removeQuietly(dir: string, remove: (d: string) => void): void {
  try {
    remove(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new TsrunError(`${AT}: removing ${dir}: ${(e as Error).message}`);
  }
}

/** Why `state` (read back from state.json) does not describe a group directly under the resctrl
 *  mount `root` with a monitoring group inside it, or null when it does: nothing else is ever
 *  written to or removed, whatever the state file says. */
export function rdtStateProblem(state: RdtState, root: string): string | null {
  if (typeof state !== 'object' || state === null || typeof state.group !== 'string' || typeof state.createdGroup !== 'boolean') return 'unexpected shape';
  if (dirname(state.group) !== resolve(root) || !validName(basename(state.group))) return `${JSON.stringify(state.group)} is not a group of the resctrl mount ${root}`;
  const mon = state.monitor;
  if (mon !== null && (typeof mon !== 'string' || dirname(mon) !== join(state.group, 'mon_groups') || !validName(basename(mon)))) return `monitoring group ${JSON.stringify(mon)} is not in ${state.group}/mon_groups`;
  return null;
}

function validName(name: string): boolean {
  try {
    checkGroupName(name, AT);
    return true;
  } catch {
    return false;
  }
}

/** Removes the monitoring group and the group, each only if tsrun made it. Without resctrl
 *  mounted any more there is nothing left to remove; a state that points elsewhere is ignored
 *  with a warning (delete must still be able to remove the container). */
export function removeIntelRdt(state: RdtState, opts: RdtOptions = {}): void {
  const root = opts.root === undefined ? findResctrlMount() : opts.root;
  if (root === null) return;
  const bad = rdtStateProblem(state, root);
  if (bad !== null) return logWarn(`state: intelRdt ${bad}: not removed`);
  const remove = opts.removeDir ?? ((d: string) => rmdirSync(d));
  if (state.monitor !== null) removeQuietly(state.monitor, remove);
  if (state.createdGroup) removeQuietly(state.group, remove);
}
