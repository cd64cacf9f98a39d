'use strict';
// Loads dist/tsrun.cjs with a V8 code cache made at build time: compiling the bundle's functions is
// most of what tsrun adds to node's own start. A cache holds the bytecode of the functions one run
// of a command compiled, so each command the build could run has its own
// (dist/tsrun.cjs.<command>.cache); the others use dist/tsrun.cjs.cache, seeded by `list`. A cache
// from another bundle, node, V8 or set of V8 flags is rejected by V8 and the bundle is simply
// compiled as usual: picking a cache is only ever a question of speed.
const { Script } = require('node:vm');
const { readFileSync, renameSync, writeFileSync } = require('node:fs');
// Not node:module (for Module.wrap and createRequire): loading it pulls in the ES module loader and
// costs about 1 ms of every start. The bundle requires only node: builtins, which this file's own
// `require` resolves the same way, and its wrapper is CommonJS's.
const WRAPPER = ['(function (exports, require, module, __filename, __dirname) { ', '\n});'];

const file = `${__dirname}/tsrun.cjs`;
// Global flags that take a value in the next word (src/cli/dispatch.ts GLOBAL_FLAGS).
const VALUE_FLAGS = new Set(['root', 'log', 'log-format', 'criu', 'rootless']);
// `run` is create + start + wait + delete: create's cache covers most of it.
const CACHE_OF = { create: 'create', run: 'create', start: 'start', delete: 'delete', state: 'state', kill: 'kill' };

function commandName(argv) {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (!word.startsWith('-')) return word;
    const name = word.replace(/^--?/, '');
    if (!name.includes('=') && VALUE_FLAGS.has(name)) i++;
  }
  return undefined;
}

/** The cache for this command line: its command's own, else the `list` one, else none. */
function readCache() {
  const cmd = commandName(process.argv.slice(2));
  const own = Object.hasOwn(CACHE_OF, cmd) ? `${file}.${CACHE_OF[cmd]}.cache` : null;
  for (const path of own ? [own, `${file}.cache`] : [`${file}.cache`]) {
    try {
      return { path, data: readFileSync(path) };
    } catch {
      // Not built (no root or no busybox at build time): the next one, or compile.
    }
  }
  return { path: null, data: undefined };
}

// TSRUN_WRITE_CODE_CACHE=<absolute path> (scripts/build.mjs): start from no cache, so the cache
// written at exit holds exactly what this command compiled.
const writeTo = process.env.TSRUN_WRITE_CODE_CACHE?.startsWith('/') ? process.env.TSRUN_WRITE_CODE_CACHE : undefined;
const cache = writeTo ? { path: null, data: undefined } : readCache();
const script = new Script(WRAPPER[0] + readFileSync(file, 'utf8') + WRAPPER[1], { filename: file, cachedData: cache.data });
// TSRUN_DEBUG_CODE_CACHE=1: which cache this start used and whether V8 took it (a cache made under
// other V8 flags or for another bundle is silently rejected, which only shows as a slower start).
if (process.env.TSRUN_DEBUG_CODE_CACHE === '1') {
  const verdict = cache.path === null ? 'none' : script.cachedDataRejected ? 'rejected' : 'accepted';
  process.stderr.write(`tsrun: code cache ${cache.path ?? '-'}: ${verdict}\n`);
}
if (writeTo) {
  // Temp file and rename: a tsrun starting meanwhile reads no half-written cache.
  process.on('exit', () => {
    writeFileSync(`${writeTo}.${process.pid}.tmp`, script.createCachedData());
    renameSync(`${writeTo}.${process.pid}.tmp`, writeTo);
  });
}
const mod = { exports: {} };
script.runInThisContext()(mod.exports, require, mod, file, __dirname);
