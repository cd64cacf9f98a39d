/** The flags `create` and `run` share, and the real dependencies of the create flow. */

import { UsageError } from '../errors.js';
import { SocketChannel, hostPlanContext, type CreateDeps, type CreateOptions } from '../process/parent.js';
import { setupCgroup } from '../process/cgroup-setup.js';
import { cgroupOrSkip } from '../rootless.js';
import { logWarn } from '../log.js';
import { bool, int, str } from './args.js';
import type { CommandContext } from './dispatch.js';

export function createOptions(ctx: CommandContext): CreateOptions {
  const preserveFds = int(ctx.parsed, 'preserve-fds', 0);
  if (preserveFds < 0) throw new UsageError(`--preserve-fds: must not be negative (got ${preserveFds})`);
  return {
    id: ctx.args[0] as string,
    bundle: str(ctx.parsed, 'bundle') ?? '.',
    root: ctx.globals.root,
    pidFile: str(ctx.parsed, 'pid-file'),
    consoleSocket: str(ctx.parsed, 'console-socket'),
    noPivot: bool(ctx.parsed, 'no-pivot'),
    noNewKeyring: bool(ctx.parsed, 'no-new-keyring'),
    preserveFds,
  };
}

/** Loaded only by create/run: the validator, the plan code and the addon. */
export async function realCreateDeps(): Promise<CreateDeps> {
  const [{ native, ociInitPath }, { loadBundle }, { buildPlan }] = await Promise.all([
    import('../native/index.js'),
    import('../spec/load.js'),
    import('../spec/plan.js'),
  ]);
  const nat = native();
  return {
    native: nat,
    ociInitPath: ociInitPath(),
    loadBundle,
    buildPlan,
    hostContext: () => hostPlanContext(nat),
    channel: (fd) => new SocketChannel(fd, nat),
    cgroup: (spec, id) => cgroupOrSkip(() => setupCgroup(spec, id, nat), spec.linux?.resources, logWarn),
  };
}
