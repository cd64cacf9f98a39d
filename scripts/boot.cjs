'use strict';
// Loads dist/tsrun.cjs with a V8 code cache made at build time (dist/tsrun.cjs.cache): compiling
// the bundle is most of what tsrun adds to node's own start. A cache from another node or V8 is
// rejected by V8 and the bundle is simply compiled as usual.
const { Script } = require('node:vm');
const { readFileSync, writeFileSync } = require('node:fs');
const Module = require('node:module');

const file = `${__dirname}/tsrun.cjs`;
let cachedData;
try {
  cachedData = readFileSync(`${file}.cache`);
} catch {
  // No cache: compile.
}
const script = new Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
if (process.env.TSRUN_WRITE_CODE_CACHE === '1') {
  process.on('exit', () => writeFileSync(`${file}.cache`, script.createCachedData()));
}
const mod = { exports: {} };
script.runInThisContext()(mod.exports, Module.createRequire(file), mod, file, __dirname);
