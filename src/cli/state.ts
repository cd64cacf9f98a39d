/** `tsrun state <id>`: runc's containerState, pretty-printed with two spaces, no trailing newline. */

import { loadContainer } from '../container/container.js';
import { Store } from '../container/store.js';
import { out, type CommandContext } from './dispatch.js';

export function run(ctx: CommandContext): number {
  const c = loadContainer(new Store(ctx.globals.root), ctx.args[0] as string);
  out(JSON.stringify(c.runcState(), null, 2));
  return 0;
}
