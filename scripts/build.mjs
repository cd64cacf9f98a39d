#!/usr/bin/env node
// Builds everything tsrun ships: the N-API addon and oci-init (node-gyp), the precompiled ajv
// validators, the one-file CLI bundle, and the bin/tsrun launcher.
//   node scripts/build.mjs            full build (incremental where make allows)
//   node scripts/build.mjs --js       only validators + bundle + launcher (no C++)
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const jsOnly = process.argv.includes('--js');

function run(cmd, args) {
  console.log(`+ ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });
}

// node-gyp downloads node's headers unless told where they are. npm passes its `nodedir` setting
// to scripts; run directly, use the headers of a distribution's node when they are installed.
function nodedirArgs() {
  const fromNpm = process.env.npm_config_nodedir;
  if (fromNpm) return [`--nodedir=${fromNpm}`];
  const prefix = dirname(dirname(process.execPath));
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

function buildNative() {
  const nodeGyp = join(root, 'node_modules', '.bin', 'node-gyp');
  if (!existsSync(join(root, 'build', 'Makefile'))) run(nodeGyp, ['configure', ...nodedirArgs()]);
  run(nodeGyp, ['build', '-j', '2']);
}

function buildValidators() {
  run(process.execPath, [join(root, 'scripts', 'build-validators.mjs')]);
}

async function bundle() {
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints: [join(root, 'src', 'cli', 'main.ts')],
    outfile: join(root, 'dist', 'tsrun.cjs'),
    bundle: true,
    platform: 'node',
    // CommonJS starts measurably faster than an ES module on Node 20 (no ESM loader), and dynamic
    // import() of a command module becomes a lazy initialiser inside the one file.
    format: 'cjs',
    define: { 'import.meta.url': '__tsrunUrl' },
    banner: { js: 'const __tsrunUrl = require("node:url").pathToFileURL(__filename).href;' },
    target: 'node20',
    // Minified code parses faster at every start; names are kept because errors report them.
    minify: true,
    keepNames: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
}

// bin/tsrun is the native launcher (addon/launcher): node by absolute path, since podman runs the
// runtime with no PATH or HOME, and the caller's soft RLIMIT_NOFILE passed on (SECURITY.md #4).
// It runs dist/boot.cjs, which loads the bundle with the V8 code cache made here.
function writeLauncher() {
  const launcher = join(root, 'bin', 'tsrun');
  const target = join('..', 'build', 'Release', 'tsrun-launcher');
  if (!existsSync(join(root, 'build', 'Release', 'tsrun-launcher'))) throw new Error('build/Release/tsrun-launcher is missing: run a full build');
  mkdirSync(dirname(launcher), { recursive: true });
  rmSync(`${launcher}.tmp`, { force: true });
  symlinkSync(target, `${launcher}.tmp`);
  renameSync(`${launcher}.tmp`, launcher);
}

function writeBootAndCodeCache() {
  copyFileSync(join(root, 'scripts', 'boot.cjs'), join(root, 'dist', 'boot.cjs'));
  rmSync(join(root, 'dist', 'tsrun.cjs.cache'), { force: true });
  // One `list` on an empty root fills the cache with what the light commands compile (dispatch,
  // argument parsing, logging, the state store); measured better than a cache from --version.
  const emptyRoot = mkdtempSync(join(tmpdir(), 'tsrun-cache-'));
  try {
    execFileSync(process.execPath, [join(root, 'dist', 'boot.cjs'), '--root', emptyRoot, 'list'], {
      env: { ...process.env, TSRUN_WRITE_CODE_CACHE: '1' },
      stdio: 'ignore',
    });
  } finally {
    rmSync(emptyRoot, { recursive: true, force: true });
  }
}

if (!jsOnly) buildNative();
buildValidators();
await bundle();
writeBootAndCodeCache();
writeLauncher();
console.log('build: ok');
