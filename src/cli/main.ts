/** Entry point of the tsrun binary (bundled to dist/tsrun.cjs by scripts/build.mjs). */

import { main } from './dispatch.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`tsrun: internal error: ${String(e)}\n`);
    process.exit(1);
  },
);
