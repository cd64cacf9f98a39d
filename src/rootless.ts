/**
 * Rootless tsrun (an unprivileged caller): where its state lives and whether cgroup failures are
 * fatal, decided the way runc decides them.
 */

import { errnoCode } from './errors.js';

/** The state directory when --root is not given: /run/tsrun for root; an unprivileged caller
 *  cannot write there, so $XDG_RUNTIME_DIR/tsrun (runc: $XDG_RUNTIME_DIR/runc). */
export function defaultRoot(env: NodeJS.ProcessEnv = process.env, euid: number = process.geteuid?.() ?? 0): string {
  const xdg = env.XDG_RUNTIME_DIR;
  if (euid !== 0 && xdg && xdg.startsWith('/')) return `${xdg.replace(/\/+$/, '')}/tsrun`;
  return '/run/tsrun';
}

/** The global --rootless flag ("true", "false", "auto"; default auto): auto means rootless exactly
 *  when the caller is not root (runc also counts running in a user namespace; cgroup errors are
 *  then tolerated there too). */
export function isRootless(flag: string | undefined, euid: number = process.geteuid?.() ?? 0): boolean {
  if (flag === 'true') return true;
  if (flag === 'false') return false;
  return euid !== 0;
}

const PERMISSION_CODES = new Set(['EACCES', 'EPERM', 'EROFS']);

/** True when the config asks for cgroup limits (anything in linux.resources). */
function hasResources(resources: object | undefined): boolean {
  return resources !== undefined && Object.keys(resources).length > 0;
}

/**
 * Runs the cgroup setup; for a rootless caller a permission failure (no delegated cgroup) is not
 * fatal, as with runc --rootless=auto: the container then stays in the caller's cgroup, with a
 * warning saying so. Asked-for limits cannot be honoured without a cgroup: that stays an error.
 */
export function cgroupOrSkip<T>(setup: () => T, resources: object | undefined, warn: (msg: string) => void, rootless: boolean = isRootless(undefined)): T | undefined {
  try {
    return setup();
  } catch (e) {
    const err = e as Error;
    if (!rootless || !PERMISSION_CODES.has(errnoCode(e) ?? '')) throw e;
    if (hasResources(resources)) {
      throw new Error(`rootless: linux.resources needs a cgroup this user may write (a delegated cgroup), but: ${err.message}`);
    }
    warn(`rootless: cgroup not created (${err.message}); the container stays in the caller's cgroup, without limits`);
    return undefined;
  }
}
