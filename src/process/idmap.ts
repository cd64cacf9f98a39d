/**
 * The maps of a container's new user namespace (config-linux.md "User namespace mappings"),
 * written by the parent while the clone child waits before execveat (SpawnInitOptions.beforeExec):
 * execve in a user namespace where the process's uid is unmapped would drop every capability.
 *
 * Root writes /proc/<pid>/{uid,gid}_map itself. An unprivileged caller may write only a map of its
 * own ids (user_namespaces(7)), and gid_map only after setgroups is "deny"; anything else goes
 * through the setuid helpers newuidmap/newgidmap, which check /etc/subuid and /etc/subgid.
 */
import { writeFileSync } from 'node:fs';
import { TsrunError } from '../errors.js';
import type { IDMapping } from '../spec/types.js';
import type { SpawnPlan } from '../spec/plan.js';
import type { SpawnInitOptions } from '../native/types.js';
import { LINUX } from '../spec/linux-constants.js';

const CLONE_NEWUSER = LINUX.CLONE_NEWUSER;

export interface IdMapCaller {
  uid: number;
  gid: number;
}

/** The caller's ids; root (0/0) when the platform has none. */
export function currentCaller(): IdMapCaller {
  return { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0 };
}

/** "containerID hostID size" lines, as the kernel's map files take them. */
export function mapLines(m: readonly IDMapping[]): string {
  return m.map((x) => `${x.containerID} ${x.hostID} ${x.size}\n`).join('');
}

/** An unprivileged caller can write this map itself: one entry of exactly its own id. */
export function ownIdOnly(m: readonly IDMapping[], id: number): boolean {
  return m.length === 1 && m[0]!.hostID === id && m[0]!.size === 1;
}

function writeMap(path: string, lines: string, what: string): void {
  try {
    writeFileSync(path, lines);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new TsrunError(`linux.${what}: writing ${path}: ${err.code ?? ''} ${err.message}`.replace(/ +/g, ' '));
  }
}

/** newuidmap/newgidmap <pid> <containerID> <hostID> <size>...; their own message on failure. */
function runHelper(tool: 'newuidmap' | 'newgidmap', pid: number, m: readonly IDMapping[], what: string): void {
  const args = [String(pid), ...m.flatMap((x) => [String(x.containerID), String(x.hostID), String(x.size)])];
  try {
    // Loaded only here (newuidmap is rare): child_process costs every create several ms otherwise.
    process.getBuiltinModule('node:child_process').execFileSync(tool, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === 'ENOENT') {
      throw new TsrunError(`linux.${what}: mapping more than your own id needs ${tool} (package uidmap) and an entry in /etc/sub${tool === 'newuidmap' ? 'uid' : 'gid'}; not found in PATH`);
    }
    const detail = err.stderr?.toString().trim() || err.message;
    throw new TsrunError(`linux.${what}: ${tool} failed: ${detail}`);
  }
}

/** Writes both maps of the user namespace of `pid` (gid first would not matter to the kernel;
 *  uid first as runc). */
export function writeIdMaps(pid: number, uid: readonly IDMapping[], gid: readonly IDMapping[], caller: IdMapCaller = currentCaller()): void {
  if (caller.uid === 0) {
    writeMap(`/proc/${pid}/uid_map`, mapLines(uid), 'uidMappings');
    writeMap(`/proc/${pid}/gid_map`, mapLines(gid), 'gidMappings');
    return;
  }
  if (ownIdOnly(uid, caller.uid)) writeMap(`/proc/${pid}/uid_map`, mapLines(uid), 'uidMappings');
  else runHelper('newuidmap', pid, uid, 'uidMappings');
  if (ownIdOnly(gid, caller.gid)) {
    // user_namespaces(7): an unprivileged gid_map write needs setgroups denied first, or the
    // process could drop a group that was denying it access (CVE-2014-8989).
    writeMap(`/proc/${pid}/setgroups`, 'deny', 'gidMappings');
    writeMap(`/proc/${pid}/gid_map`, mapLines(gid), 'gidMappings');
  } else {
    runHelper('newgidmap', pid, gid, 'gidMappings');
  }
}

/** The spawnInit options for the container's user namespace: maps written while the child waits
 *  (new namespace), and root of the namespace before execveat (new or joined by path). */
export function userNsSpawnOptions(sp: SpawnPlan): Pick<SpawnInitOptions, 'beforeExec' | 'becomeRoot'> {
  const joinsUser = sp.joinInChild.some((j) => j.nstype === CLONE_NEWUSER);
  return {
    ...(sp.userNamespace ? { beforeExec: (pid: number) => writeIdMaps(pid, sp.uidMappings, sp.gidMappings) } : {}),
    becomeRoot: sp.userNamespace || joinsUser,
  };
}
