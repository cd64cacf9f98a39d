/** `tsrun delete [--force] <id>`; `--force` of an unknown id exits 0 silently (containerd's shim
 *  relies on it after its own delete). */

import { deleteContainer } from '../container/lifecycle.js';
import { Store } from '../container/store.js';
import { native } from '../native/index.js';
import { bool } from './args.js';
import type { CommandContext } from './dispatch.js';

export function run(ctx: CommandContext): number {
  deleteContainer(native(), new Store(ctx.globals.root), ctx.args[0] as string, bool(ctx.parsed, 'force'));
  return 0;
}
