/** `tsrun resume <id>`: thaw a paused container. */

import { resumeContainer } from '../container/pause.js';
import { Store } from '../container/store.js';
import type { CommandContext } from './dispatch.js';

export function run(ctx: CommandContext): number {
  resumeContainer(new Store(ctx.globals.root), ctx.args[0] as string);
  return 0;
}
