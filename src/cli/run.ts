/**
 * `tsrun run [flags] <id>`: create + start. In the foreground tsrun stays the init's parent: stdio
 * is the container's, signals tsrun gets are forwarded to the init through its pidfd, tsrun exits
 * with the container's status (128+N when killed by signal N), and the container is deleted
 * afterwards unless --keep.
 */

import { loadContainer } from '../container/container.js';
import { destroyContainer, startContainer } from '../container/lifecycle.js';
import type { Store } from '../container/store.js';
import { logWarn } from '../log.js';
import type { Native } from '../native/types.js';
import type { PtyProxy } from '../process/console-proxy.js';
import { createContainer } from '../process/parent.js';
import { SignalForwarder, waitForeground } from '../process/foreground.js';
import { bool } from './args.js';
import { createOptions, realCreateDeps } from './create-options.js';
import type { CommandContext } from './dispatch.js';

export async function run(ctx: CommandContext): Promise<number> {
  const deps = await realCreateDeps();
  const nat = deps.native;
  const detach = bool(ctx.parsed, 'detach');
  const fwd = detach ? undefined : new SignalForwarder(nat);
  let created: ReturnType<typeof createContainer>;
  try {
    created = createContainer({ ...createOptions(ctx), detach }, deps);
  } catch (e) {
    fwd?.dispose();
    throw e;
  }
  const { container, pidfd, pty } = created;
  const store = container.store;
  let proxy: PtyProxy | undefined;
  try {
    // Before start: the proxy is reading when the process first writes.
    if (pty !== undefined) proxy = (await import('../process/console-proxy.js')).proxyPty(nat, pty);
    startContainer(nat, store, container.id);
  } catch (e) {
    fwd?.dispose();
    await proxy?.finish(0);
    // As runc: a run whose start failed (e.g. a poststart hook) leaves no container behind.
    cleanup(nat, pidfd, container.id, store);
    throw e;
  }
  if (fwd === undefined) return 0;
  const code = await waitForeground(nat, pidfd, fwd, proxy !== undefined);
  await proxy?.finish();
  if (!bool(ctx.parsed, 'keep')) {
    try {
      destroyContainer(loadContainer(store, container.id));
    } catch (e) {
      logWarn(`deleting container ${container.id}: ${(e as Error).message}`);
    }
  }
  return code;
}

function cleanup(nat: Native, pidfd: number, id: string, store: Store): void {
  try {
    nat.pidfdSendSignal(pidfd, 9);
  } catch {
    // Gone already.
  }
  try {
    destroyContainer(loadContainer(store, id));
  } catch {
    // Nothing left to remove.
  }
}
