/**
 * linux.cgroupsPath as runc reads it (libcontainer/cgroups/fs/paths.go, fs2/defaultpath.go), pure:
 * - absolute "/a/b"  → <hierarchy root>/a/b
 * - relative "a/b"   → v1: <own cgroup in that hierarchy>/a/b; v2: <parent of own cgroup>/a/b (the
 *   own cgroup usually holds processes, so by the no-internal-processes rule its children could
 *   not get controllers; its parent can)
 * - absent           → the container id, relative (runc sets Name = id with no Parent)
 * "slice:prefix:name" is the systemd driver's form, which tsrun does not implement yet.
 */

import { posix } from 'node:path';
import { ConfigError } from '../errors.js';

export interface InnerPath {
  absolute: boolean;
  /** Cleaned, never contains "..": absolute starts with "/", relative does not. */
  path: string;
}

/** Lexical cleaning as runc's utils.CleanPath: ".." can never climb above the start. */
export function cleanPath(p: string): string {
  if (p === '') return '';
  const abs = p.startsWith('/');
  const cleaned = posix.normalize('/' + p).replace(/\/+$/, '');
  if (abs) return cleaned === '' ? '/' : cleaned;
  return cleaned.replace(/^\/+/, '');
}

const SYSTEMD_FORM = /^[^/:]*:[^/:]*:[^/:]+$/;

export function innerPath(cgroupsPath: string | undefined, id: string): InnerPath {
  if (cgroupsPath !== undefined && cgroupsPath !== '') {
    if (SYSTEMD_FORM.test(cgroupsPath)) {
      throw new ConfigError('config.json', [
        `/linux/cgroupsPath: "${cgroupsPath}" is in the systemd form slice:prefix:name, and the systemd cgroup driver (--systemd-cgroup) is not supported yet`,
      ]);
    }
    // The kernel refuses such a name (cgroup_mkdir: it would make /proc/<pid>/cgroup unparsable);
    // a NUL is refused with every other config string (spec/validate.ts).
    if (cgroupsPath.includes('\n')) {
      throw new ConfigError('config.json', [`/linux/cgroupsPath: ${JSON.stringify(cgroupsPath)} contains a newline, which no cgroup name may`]);
    }
    const path = cleanPath(cgroupsPath);
    if (path === '/' || path === '') {
      throw new ConfigError('config.json', [`/linux/cgroupsPath: "${cgroupsPath}" names the hierarchy root itself`]);
    }
    return { absolute: path.startsWith('/'), path };
  }
  return { absolute: false, path: cleanPath(id) };
}

/**
 * Directory of the container's cgroup in one hierarchy mounted at `mountpoint`, whose mount shows
 * the cgroup `mountRoot` (not "/" inside a cgroup namespace); `own` is this process's cgroup in it
 * (from /proc/self/cgroup), used only for relative paths.
 */
export function hierarchyDir(mountpoint: string, mountRoot: string, own: string, inner: InnerPath, v2: boolean): string {
  if (inner.absolute) return posix.join(mountpoint, inner.path);
  let base = own;
  if (mountRoot !== '/' && (base === mountRoot || base.startsWith(mountRoot + '/'))) base = base.slice(mountRoot.length) || '/';
  if (v2) base = posix.dirname(base);
  return posix.join(mountpoint, base, inner.path);
}
