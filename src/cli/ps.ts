/** `tsrun ps [--format table|json] <id> [ps options]`: as runc, json is the array of host pids in
 *  the container's cgroup; table is the host's `ps` (default -ef) filtered to those pids. */

import { UsageError } from '../errors.js';
import { containerPids } from '../container/pause.js';
import { Store } from '../container/store.js';
import { str } from './args.js';
import { out, type CommandContext } from './dispatch.js';

export async function run(ctx: CommandContext): Promise<number> {
  const format = str(ctx.parsed, 'format') ?? 'table';
  if (format !== 'table' && format !== 'json') throw new UsageError(`invalid format option: ${format} (--format must be table or json)`);
  const [id, ...psArgs] = ctx.args as [string, ...string[]];
  const pids = containerPids(new Store(ctx.globals.root), id);
  if (format === 'json') {
    out(JSON.stringify(pids) + '\n');
    return 0;
  }
  const { psTable } = await import('../container/ps-table.js');
  out(psTable(pids, psArgs));
  return 0;
}
