/** `tsrun kill [--all] <id> [signal]` (default SIGTERM). */

import { loadContainer } from '../container/container.js';
import { signalContainer } from '../container/lifecycle.js';
import { checkAction } from '../container/status.js';
import { Store } from '../container/store.js';
import { native } from '../native/index.js';
import { parseSignal } from '../process/signals.js';
import { bool } from './args.js';
import type { CommandContext } from './dispatch.js';

export function run(ctx: CommandContext): number {
  const [id, rawSig] = ctx.args as [string, string | undefined];
  const sig = parseSignal(rawSig ?? 'SIGTERM');
  const c = loadContainer(new Store(ctx.globals.root), id);
  checkAction('kill', c.status(), id);
  signalContainer(native(), c, sig, bool(ctx.parsed, 'all'));
  return 0;
}
