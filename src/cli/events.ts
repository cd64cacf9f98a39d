/** `tsrun events [--stats] [--interval D] <id>`: runc's JSON events (container/events.ts). */

import { containerEvents, parseDuration } from '../container/events.js';
import { Store } from '../container/store.js';
import { native } from '../native/index.js';
import { bool, str } from './args.js';
import { out, type CommandContext } from './dispatch.js';

export async function run(ctx: CommandContext): Promise<number> {
  const intervalMs = parseDuration(str(ctx.parsed, 'interval') ?? '5s');
  await containerEvents(native(), new Store(ctx.globals.root), ctx.args[0] as string, { stats: bool(ctx.parsed, 'stats'), intervalMs }, out);
  return 0;
}
