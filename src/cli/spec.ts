/** `tsrun spec [--bundle DIR] [--rootless]`: write a default config.json; never overwrite one. */

import { constants as C, closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { TsrunError } from '../errors.js';
import { defaultSpec } from '../spec/default-spec.js';
import { bool, str } from './args.js';
import type { CommandContext } from './dispatch.js';

export function run(ctx: CommandContext): number {
  const dir = str(ctx.parsed, 'bundle') ?? '.';
  const path = join(dir, 'config.json');
  const spec = defaultSpec({ rootless: bool(ctx.parsed, 'rootless'), uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });
  let fd: number;
  try {
    // O_EXCL: refusing an existing file must not race with someone creating one.
    fd = openSync(path, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o666);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new TsrunError('File config.json exists. Remove it first');
    if (code === 'ENOENT') throw new TsrunError(`--bundle: ${dir}: no such directory`);
    throw new TsrunError(`writing ${path}`, { cause: e });
  }
  try {
    writeSync(fd, JSON.stringify(spec, null, '\t'));
  } finally {
    closeSync(fd);
  }
  return 0;
}
