/** `tsrun pause <id>`: freeze every process of the container (state then says paused). */

import { pauseContainer } from '../container/pause.js';
import { Store } from '../container/store.js';
import type { CommandContext } from './dispatch.js';

export function run(ctx: CommandContext): number {
  pauseContainer(new Store(ctx.globals.root), ctx.args[0] as string);
  return 0;
}
