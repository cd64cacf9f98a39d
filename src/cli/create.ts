/** `tsrun create [flags] <id>`. */

import { createContainer } from '../process/parent.js';
import { createOptions, realCreateDeps } from './create-options.js';
import type { CommandContext } from './dispatch.js';

export async function run(ctx: CommandContext): Promise<number> {
  createContainer(createOptions(ctx), await realCreateDeps());
  return 0;
}
