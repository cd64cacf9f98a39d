/** Entry point of the tsrun binary (bundled to dist/tsrun.cjs by scripts/build.mjs). */

import { main } from './dispatch.js';
import { exitProcess } from '../process/exit.js';

main(process.argv.slice(2)).then(
  (code) => exitProcess(code),
  (e: unknown) => {
    process.stderr.write(`tsrun: internal error: ${String(e)}\n`);
    process.exit(1);
  },
);
