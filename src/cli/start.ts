/** `tsrun start <id>`: release a created container's process, then the poststart hooks. */

import { startContainer } from '../container/lifecycle.js';
import { Store } from '../container/store.js';
import { native } from '../native/index.js';
import type { CommandContext } from './dispatch.js';

export function run(ctx: CommandContext): number {
  startContainer(native(), new Store(ctx.globals.root), ctx.args[0] as string);
  return 0;
}
