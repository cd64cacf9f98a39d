#!/usr/bin/env node
// Builds everything tsrun ships: the N-API addon and oci-init (node-gyp), the precompiled ajv
// validators, the one-file CLI bundle, and the bin/tsrun launcher.
//   node scripts/build.mjs            full build (incremental where make allows)
//   node scripts/build.mjs --js       only validators + bundle + launcher (no C++)
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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

/** The code caches of the previous bundle go before the new bundle is written: V8 tells a cache's
 *  source apart only by its length, so an old cache must never meet a new bundle of equal size. */
function removeCodeCaches() {
  const dist = join(root, 'dist');
  if (!existsSync(dist)) return;
  for (const f of readdirSync(dist)) if (/^tsrun\.cjs(\.[a-z]+)?\.cache$/.test(f)) rmSync(join(dist, f), { force: true });
}

async function bundle() {
  removeCodeCaches();
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
    // import.meta.url without pathToFileURL in the usual case (a path of plain characters, where
    // the URL is the path behind file://): url's encoder costs a measurable part of every start.
    banner: { js: 'const __tsrunUrl = /^[\\w/.-]+$/.test(__filename) ? "file://" + __filename : require("node:url").pathToFileURL(__filename).href;' },
    target: 'node20',
    // Minified code parses faster at every start. No keepNames: it wraps every function in a
    // defineProperty call run at load (about 1 ms a command); error classes name themselves.
    minify: true,
    keepNames: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
  // esbuild escapes non-ASCII in strings but not in regular expressions; one such character takes
  // node's read of the bundle off its ASCII fast path at every start.
  const text = readFileSync(join(root, 'dist', 'tsrun.cjs'), 'latin1');
  const at = text.search(/[^\x00-\x7f]/);
  if (at >= 0) throw new Error(`dist/tsrun.cjs is not ASCII at offset ${at}: ${JSON.stringify(text.slice(Math.max(0, at - 40), at + 10))} (write \\uXXXX in the source)`);
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

// V8 code caches for dist/boot.cjs, one per command the build can run (scripts/boot.cjs): a cache
// holds the bytecode of what one run compiled, so a command finds its functions compiled instead
// of parsing them at every start. Seeded through bin/tsrun, so node runs with the launcher's flags
// (V8 rejects a cache made under other flags). A command the build cannot run falls back to the
// `list` cache, and to compiling, which is slower but never wrong.
function writeBootAndCodeCache() {
  const dist = join(root, 'dist');
  copyFileSync(join(root, 'scripts', 'boot.cjs'), join(dist, 'boot.cjs'));
  removeCodeCaches();
  const work = mkdtempSync(join(tmpdir(), 'tsrun-cache-'));
  try {
    // `list` on an empty root: what the light commands share (dispatch, arguments, logging, the
    // state store); measured better for them than a cache from --version or from a lifecycle.
    seed('tsrun.cjs.cache', ['--root', join(work, 'root'), 'list']);
    seedLifecycle(work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function seed(cacheName, args, opts = {}) {
  execFileSync(join(root, 'bin', 'tsrun'), args, {
    env: { ...process.env, TSRUN_WRITE_CODE_CACHE: join(root, 'dist', cacheName) },
    stdio: 'ignore',
    ...opts,
  });
}

/** create, state, kill, start and delete of a container running busybox `true`, each writing its
 *  cache. Needs root and a static busybox; without them those commands use the `list` cache. The
 *  container is deleted and its files removed whatever happens. */
function seedLifecycle(work) {
  const busybox = '/bin/busybox';
  if (process.getuid?.() !== 0 || !existsSync(busybox)) {
    console.log('build: code caches for create/start/delete need root and /bin/busybox; using the list cache for them');
    return;
  }
  const bundle = join(work, 'bundle');
  const rootfs = join(bundle, 'rootfs');
  for (const d of ['bin', 'dev', 'proc', 'sys', 'tmp']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync(busybox, join(rootfs, 'bin', 'busybox'));
  chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
  symlinkSync('busybox', join(rootfs, 'bin', 'true'));
  execFileSync(join(root, 'bin', 'tsrun'), ['spec', '--bundle', bundle], { stdio: 'ignore' });
  const configPath = join(bundle, 'config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8'));
  config.process.terminal = false;
  config.process.args = ['true'];
  writeFileSync(configPath, JSON.stringify(config));
  const state = ['--root', join(work, 'root')];
  const id = `tsrun-build-cache-${process.pid}`;
  try {
    seed('tsrun.cjs.create.cache', [...state, 'create', '--bundle', bundle, id], { cwd: bundle });
    seed('tsrun.cjs.state.cache', [...state, 'state', id]);
    seed('tsrun.cjs.kill.cache', [...state, 'kill', id, 'CONT']);
    seed('tsrun.cjs.start.cache', [...state, 'start', id]);
    seed('tsrun.cjs.delete.cache', [...state, 'delete', '--force', id]);
  } catch (e) {
    console.log(`build: seeding the lifecycle code caches failed (${e.message.split('\n')[0]}); the commands left use the list cache`);
  } finally {
    // Whatever happened above: no container, cgroup or state may outlive the build.
    execFileSync(join(root, 'bin', 'tsrun'), [...state, 'delete', '--force', id], { stdio: 'ignore' });
  }
}

if (!jsOnly) buildNative();
buildValidators();
await bundle();
writeLauncher();
writeBootAndCodeCache();
console.log('build: ok');
