/** `tsrun update [--resources FILE|-] [runc's single-value flags] <id>`. As runc, --resources
 *  replaces the flags (they are read only without it). */

import { rdtFromFlags, resourcesFromFile, resourcesFromFlags, updateContainer } from '../container/update.js';
import { Store } from '../container/store.js';
import { native } from '../native/index.js';
import { str } from './args.js';
import type { CommandContext } from './dispatch.js';

export async function run(ctx: CommandContext): Promise<number> {
  const file = str(ctx.parsed, 'resources');
  const resources = file !== undefined ? await resourcesFromFile(file) : resourcesFromFlags(ctx.parsed.values);
  // As runc, the Intel RDT flags count with --resources too.
  updateContainer(native(), new Store(ctx.globals.root), ctx.args[0] as string, resources, rdtFromFlags(ctx.parsed.values));
  return 0;
}
