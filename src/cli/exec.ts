/**
 * `tsrun exec [flags] <id> <command> [args...]` / `tsrun exec -p process.json <id>`: a new process
 * in the container (process/exec.ts). Foreground: tsrun waits, forwards signals and exits with the
 * process's status. --detach: returns once the process runs (--pid-file names it).
 */

import { closeSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { execInContainer, type ExecDeps, type ExecOptions } from '../process/exec.js';
import { SignalForwarder, waitForeground } from '../process/foreground.js';
import { SocketChannel, hostPlanContext } from '../process/parent.js';
import { subCgroupState } from '../spec/exec-plan.js';
import { bool, int, list, str } from './args.js';
import type { CommandContext } from './dispatch.js';

export function execOptions(ctx: CommandContext): ExecOptions {
  const p = ctx.parsed;
  const [id, ...args] = ctx.args as [string, ...string[]];
  const preserveFds = int(p, 'preserve-fds', 0);
  if (preserveFds < 0) throw new UsageError(`--preserve-fds: must not be negative (got ${preserveFds})`);
  return {
    id,
    root: ctx.globals.root,
    flags: {
      args,
      tty: bool(p, 'tty'),
      env: list(p, 'env'),
      cwd: str(p, 'cwd'),
      user: str(p, 'user'),
      additionalGids: list(p, 'additional-gids'),
      caps: list(p, 'cap'),
      noNewPrivs: p.values['no-new-privs'] === undefined ? undefined : bool(p, 'no-new-privs'),
      apparmor: str(p, 'apparmor'),
      processLabel: str(p, 'process-label'),
    },
    processFile: str(p, 'process'),
    detach: bool(p, 'detach'),
    pidFile: str(p, 'pid-file'),
    consoleSocket: str(p, 'console-socket'),
    preserveFds,
    cgroup: str(p, 'cgroup'),
    ignorePaused: bool(p, 'ignore-paused'),
  };
}

async function realExecDeps(): Promise<ExecDeps> {
  const [{ native, ociInitPath }, { loadBundle, parseProcess }, { buildPlan }, { loadManager }] = await Promise.all([
    import('../native/index.js'),
    import('../spec/load.js'),
    import('../spec/plan.js'),
    import('../cgroups/manager.js'),
  ]);
  const nat = native();
  return {
    native: nat,
    ociInitPath: ociInitPath(),
    buildPlan,
    parseProcess,
    loadBundle,
    hostContext: () => hostPlanContext(nat),
    channel: (fd) => new SocketChannel(fd, nat),
    joinCgroup(c, pid, sub) {
      const cg = c.state.cgroup;
      if (cg === undefined) {
        // A container without a cgroup of its own: the process stays where tsrun's children land.
        if (sub !== undefined) throw new UsageError('--cgroup: the container has no cgroup of its own');
        return;
      }
      loadManager(sub === undefined ? cg : subCgroupState(cg, sub)).addProcess(pid);
    },
  };
}

export async function run(ctx: CommandContext): Promise<number> {
  const opts = execOptions(ctx);
  const deps = await realExecDeps();
  const fwd = opts.detach ? undefined : new SignalForwarder(deps.native);
  let execed: ReturnType<typeof execInContainer>;
  try {
    execed = execInContainer(opts, deps);
  } catch (e) {
    fwd?.dispose();
    throw e;
  }
  const { pidfd, pty } = execed;
  if (fwd === undefined) {
    closeSync(pidfd);
    return 0;
  }
  // The process may already be writing: its output waits in the pty until the proxy reads.
  const proxy = pty === undefined ? undefined : (await import('../process/console-proxy.js')).proxyPty(deps.native, pty);
  let code: number;
  try {
    code = await waitForeground(deps.native, pidfd, fwd, proxy !== undefined);
  } finally {
    closeSync(pidfd);
  }
  await proxy?.finish();
  return code;
}
