#!/usr/bin/env node
// Benchmark (npm run bench): tsrun side by side with runc and crun in one run, as ratios.
//   node scripts/bench.mjs [--rounds N] [--warmup N] [--tsrun PATH] [--rt]
// 1. create + start + delete -f of `true` in one busybox bundle, interleaved rounds (the order of
//    runtimes rotates each round so drift on the machine hits all of them alike).
// 2. per-command wall time of tsrun --version/state/list/kill against a bare `node -e 0`
//    (target: each adds at most 15 ms over node's own start).
// 3. peak RSS of each tsrun command, from /usr/bin/time -f %M (Node cannot read a child's rusage).
// --rt: every measured command runs SCHED_FIFO, ahead of whatever else keeps a shared machine busy
// (the figures then show the runtimes' own cost, not the load). Each container's v1 cpu cgroup
// then needs a realtime budget, or the kernel refuses the real-time init (EINVAL), so the config
// gets linux.resources.cpu.realtimeRuntime for all runtimes alike. cgroup v1 hosts only; crun
// 1.8.1 joins the cgroup before it sets the budget and is left out.
// Prints tables and writes .bench/results.json. Run with NODE_EXTRA_CA_CERTS unset (MACHINE.md):
// it makes every node start ~35 ms slower and real container managers do not set it.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
delete process.env.NODE_EXTRA_CA_CERTS;

class BenchError extends Error {}

if (process.argv[2] === '--worker') runWorker();
else {
  try {
    await main(parseArgs(process.argv.slice(2)));
  } catch (e) {
    if (!(e instanceof BenchError)) throw e;
    console.error(`bench: ${e.message}`);
    process.exitCode = 1;
  }
}

function parseArgs(argv) {
  const opts = { rounds: 30, warmup: 3, cmdRounds: 20, tsrun: path.join(repo, 'bin/tsrun'), rt: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--rounds') opts.rounds = positive(flag, value);
    else if (flag === '--warmup') opts.warmup = positive(flag, value, 0);
    else if (flag === '--cmd-rounds') opts.cmdRounds = positive(flag, value);
    else if (flag === '--tsrun') opts.tsrun = path.resolve(value ?? '');
    else if (flag === '--rt') {
      opts.rt = true;
      continue;
    } else fail(`unknown argument ${flag} (usage: bench.mjs [--rounds N] [--warmup N] [--cmd-rounds N] [--tsrun PATH] [--rt])`);
    i++;
  }
  return opts;
}

function positive(flag, value, min = 1) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) fail(`${flag} needs an integer >= ${min}, got ${value}`);
  return n;
}

function fail(msg) {
  throw new BenchError(msg);
}

/** Runs argv to completion with stdio away from us (a container holding our pipe would stall
 *  spawnSync) and stderr in a file, so a failure can be reported. Returns wall milliseconds. */
function timed(argv, cwd, errFile) {
  fs.writeFileSync(errFile, '');
  const err = fs.openSync(errFile, 'a');
  try {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(argv[0], argv.slice(1), { cwd, stdio: ['ignore', 'ignore', err], env: process.env });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const stderr = fs.readFileSync(errFile, 'utf8').trim();
    return { ms, status: r.status ?? (r.signal ? 128 : 1), error: r.error?.message ?? stderr };
  } finally {
    fs.closeSync(err);
  }
}

/** Worker: times commands sent as JSON lines, from wherever it was started (crun's private mount
 *  namespace), with the same spawnSync path as the main process so the numbers compare. */
function runWorker() {
  const errFile = path.join(os.tmpdir(), `tsrun-bench-worker-${process.pid}.err`);
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const { argv, cwd } = JSON.parse(line);
    process.stdout.write(JSON.stringify(timed(argv, cwd, errFile)) + '\n');
  });
  rl.on('close', () => fs.rmSync(errFile, { force: true }));
}

/** crun refuses this host's hybrid cgroup layout; MACHINE.md's workaround hides the v2 mount in a
 *  private mount namespace. Only ever unmount inside such a namespace. */
function startCrunWorker() {
  const script = `umount /sys/fs/cgroup/unified 2>/dev/null; exec "$0" "$1" --worker`;
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, process.execPath, fileURLToPath(import.meta.url)], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: process.env,
  });
  const lines = readline.createInterface({ input: child.stdout });
  const waiting = [];
  lines.on('line', (l) => waiting.shift()?.(JSON.parse(l)));
  return {
    run: (argv, cwd) =>
      new Promise((resolve) => {
        waiting.push(resolve);
        child.stdin.write(JSON.stringify({ argv, cwd }) + '\n');
      }),
    close: () => child.stdin.end(),
  };
}

/** SCHED_FIFO for this thread; the commands it spawns (and the crun worker) inherit it. */
function realtime() {
  if (!fs.existsSync('/sys/fs/cgroup/cpu/cpu.rt_runtime_us')) fail('--rt needs a cgroup v1 cpu hierarchy with realtime group scheduling');
  const r = spawnSync('chrt', ['-f', '-p', '50', String(process.pid)], { encoding: 'utf8' });
  if (r.status !== 0) fail(`--rt: chrt failed: ${r.stderr || r.error?.message}`);
}

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function makeBundle(dir, tsrun, rt) {
  const r = spawnSync('bash', [path.join(here, 'make-bundle.sh'), dir, 'true'], {
    encoding: 'utf8',
    env: { ...process.env, TSRUN: tsrun },
  });
  if (r.status !== 0) fail(`make-bundle.sh failed: ${r.stderr}`);
  const file = path.join(dir, 'config.json');
  const config = JSON.parse(fs.readFileSync(file, 'utf8'));
  // One config for all three runtimes: keep only what runc 1.1.5 and crun 1.8.1 also accept.
  // crun 1.8.1 refuses any ociVersion but 1.0.x ("unknown version specified").
  config.ociVersion = '1.0.2';
  delete config.process.ioPriority;
  delete config.linux?.timeOffsets;
  delete config.linux?.intelRdt;
  if (rt) config.linux.resources = { ...config.linux.resources, cpu: { realtimeRuntime: 20000, realtimePeriod: 1000000 } };
  fs.writeFileSync(file, JSON.stringify(config, null, '\t'));
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { n: s.length, median: round(median), min: round(s[0]), p90: round(q(0.9)), max: round(s[s.length - 1]) };
}

function round(x) {
  return Math.round(x * 100) / 100;
}

function pad(v, n) {
  return String(v).padStart(n);
}

async function lifecycleRounds(runtimes, bundle, opts) {
  const samples = Object.fromEntries(runtimes.map((r) => [r.name, { create: [], start: [], delete: [], total: [] }]));
  const total = opts.warmup + opts.rounds;
  for (let i = 0; i < total; i++) {
    const order = runtimes.map((_, k) => runtimes[(i + k) % runtimes.length]);
    for (const rt of order) {
      const id = `bench-${rt.name}-${process.pid}-${i}`;
      const steps = [
        ['create', ['create', '--bundle', bundle, id]],
        ['start', ['start', id]],
        ['delete', ['delete', '-f', id]],
      ];
      const times = {};
      for (const [step, args] of steps) {
        const r = await rt.run([...rt.argv, ...args], bundle);
        if (r.status !== 0) {
          await rt.run([...rt.argv, 'delete', '-f', id], bundle);
          throw new Error(`${rt.name} ${step} failed (exit ${r.status}): ${r.error}`);
        }
        times[step] = r.ms;
      }
      if (i < opts.warmup) continue;
      const s = samples[rt.name];
      for (const step of ['create', 'start', 'delete']) s[step].push(times[step]);
      s.total.push(times.create + times.start + times.delete);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).map(([s, xs]) => [s, stats(xs)]))]));
}

/** Keeps only the runtimes that get through one lifecycle; says why the others are left out. */
async function usableRuntimes(candidates, bundle, opts) {
  const ok = [];
  const skipped = {};
  for (const rt of candidates) {
    try {
      await lifecycleRounds([rt], bundle, { warmup: 1, rounds: 0 });
      ok.push(rt);
    } catch (e) {
      if (rt.name === 'tsrun') fail(e.message);
      skipped[rt.name] = e.message;
      console.error(`bench: leaving ${rt.name} out: ${e.message}`);
    }
  }
  return { ok, skipped };
}

function commandTimes(tsrunArgv, runcArgv, bundle, errFile, opts) {
  const id = `bench-cmd-${process.pid}`;
  const mustRun = (argv) => {
    const r = timed(argv, bundle, errFile);
    if (r.status !== 0) fail(`${argv.join(' ')} failed (exit ${r.status}): ${r.error}`);
    return r.ms;
  };
  // A created container (init waiting for start) gives state/kill something real to look at;
  // SIGCONT changes nothing for it, so every round sees the same container.
  mustRun([...tsrunArgv, 'create', '--bundle', bundle, id]);
  if (runcArgv) mustRun([...runcArgv, 'create', '--bundle', bundle, id]);
  const cmds = {
    'node -e 0': [[process.execPath, '-e', '0'], null],
    '--version': [[...tsrunArgv, '--version'], runcArgv && [...runcArgv, '--version']],
    state: [[...tsrunArgv, 'state', id], runcArgv && [...runcArgv, 'state', id]],
    list: [[...tsrunArgv, 'list'], runcArgv && [...runcArgv, 'list']],
    kill: [[...tsrunArgv, 'kill', id, 'CONT'], runcArgv && [...runcArgv, 'kill', id, 'CONT']],
  };
  const samples = Object.fromEntries(Object.keys(cmds).map((k) => [k, { tsrun: [], runc: [] }]));
  try {
    for (let i = 0; i < opts.cmdRounds + 1; i++) {
      for (const [name, [t, r]] of Object.entries(cmds)) {
        const tms = mustRun(t);
        const rms = r ? mustRun(r) : null;
        if (i === 0) continue; // warm-up: page cache
        samples[name].tsrun.push(tms);
        if (rms !== null) samples[name].runc.push(rms);
      }
    }
  } finally {
    timed([...tsrunArgv, 'delete', '-f', id], bundle, errFile);
    if (runcArgv) timed([...runcArgv, 'delete', '-f', id], bundle, errFile);
  }
  return Object.fromEntries(
    Object.entries(samples).map(([k, v]) => [k, { tsrun: stats(v.tsrun), runc: v.runc.length ? stats(v.runc) : null }]),
  );
}

/** Peak RSS (KiB) of each tsrun command, max over three runs. */
function peakRss(tsrunArgv, bundle, errFile) {
  const time = '/usr/bin/time';
  if (!fs.existsSync(time)) return { skipped: '/usr/bin/time missing (apt-get install time)' };
  const out = path.join(os.tmpdir(), `tsrun-bench-rss-${process.pid}`);
  const rss = (args) => {
    const r = timed([time, '-f', '%M', '-o', out, ...tsrunArgv, ...args], bundle, errFile);
    if (r.status !== 0) fail(`tsrun ${args.join(' ')} failed under /usr/bin/time: ${r.error}`);
    return Number(fs.readFileSync(out, 'utf8').trim().split('\n').pop());
  };
  const peaks = {};
  const note = (k, v) => (peaks[k] = Math.max(peaks[k] ?? 0, v));
  for (let i = 0; i < 3; i++) {
    const id = `bench-rss-${process.pid}-${i}`;
    note('--version', rss(['--version']));
    note('create', rss(['create', '--bundle', bundle, id]));
    note('state', rss(['state', id]));
    note('list', rss(['list']));
    note('kill', rss(['kill', id, 'CONT']));
    note('start', rss(['start', id]));
    note('delete -f', rss(['delete', '-f', id]));
  }
  fs.rmSync(out, { force: true });
  return peaks;
}

function printLifecycle(life) {
  console.log('\ncreate + start + delete -f of `true` (ms, median of interleaved rounds)');
  console.log(`${'runtime'.padEnd(8)}${pad('create', 9)}${pad('start', 9)}${pad('delete', 9)}${pad('total', 9)}${pad('min', 9)}${pad('p90', 9)}`);
  for (const [name, s] of Object.entries(life)) {
    console.log(
      `${name.padEnd(8)}${pad(s.create.median, 9)}${pad(s.start.median, 9)}${pad(s.delete.median, 9)}${pad(s.total.median, 9)}${pad(s.total.min, 9)}${pad(s.total.p90, 9)}`,
    );
  }
  const ratios = {};
  for (const other of ['runc', 'crun']) {
    if (!life[other]) continue;
    ratios[`tsrun/${other}`] = round(life.tsrun.total.median / life[other].total.median);
    console.log(`ratio tsrun/${other}: ${ratios[`tsrun/${other}`]}`);
  }
  return ratios;
}

function printCommands(cmds) {
  const node = cmds['node -e 0'].tsrun.median;
  console.log('\nper command (ms, median); "over node" = tsrun minus `node -e 0` (target <= 15)');
  console.log(`${'command'.padEnd(11)}${pad('tsrun', 9)}${pad('over node', 11)}${pad('runc', 9)}`);
  for (const [name, s] of Object.entries(cmds)) {
    const over = name === 'node -e 0' ? '' : round(s.tsrun.median - node);
    const flag = over !== '' && over > 15 ? ' (over target)' : '';
    console.log(`${name.padEnd(11)}${pad(s.tsrun.median, 9)}${pad(over, 11)}${pad(s.runc?.median ?? '', 9)}${flag}`);
  }
}

async function main(opts) {
  if (process.getuid?.() !== 0) fail('needs root (containers)');
  if (!fs.existsSync(opts.tsrun)) fail(`${opts.tsrun} missing: run npm run build first`);
  if (opts.rt) realtime();
  const work = fs.mkdtempSync('/run/tsrun-bench-');
  const bundle = path.join(work, 'bundle');
  const errFile = path.join(work, 'stderr');
  let crunWorker = null;
  try {
    makeBundle(bundle, opts.tsrun, opts.rt);
    const local = (argv, cwd) => Promise.resolve(timed(argv, cwd, errFile));
    const tsrunArgv = [opts.tsrun, '--root', path.join(work, 'root-tsrun')];
    const candidates = [{ name: 'tsrun', argv: tsrunArgv, run: local }];
    const skipped = {};
    const runc = which('runc');
    if (runc) candidates.push({ name: 'runc', argv: [runc, '--root', path.join(work, 'root-runc')], run: local });
    else skipped.runc = 'not installed';
    const crun = which('crun');
    if (crun) {
      crunWorker = startCrunWorker();
      candidates.push({ name: 'crun', argv: [crun, '--root', path.join(work, 'root-crun')], run: crunWorker.run });
    } else skipped.crun = 'not installed';

    const usable = await usableRuntimes(candidates, bundle, opts);
    Object.assign(skipped, usable.skipped);
    console.log(`bench: ${opts.rounds} rounds (+${opts.warmup} warm-up) of ${usable.ok.map((r) => r.name).join(', ')}; node ${process.version}; ${os.cpus().length} cpus${opts.rt ? '; SCHED_FIFO' : ''}`);
    const lifecycle = await lifecycleRounds(usable.ok, bundle, opts);
    const ratios = printLifecycle(lifecycle);
    const runcArgv = usable.ok.find((r) => r.name === 'runc')?.argv ?? null;
    const commands = commandTimes(tsrunArgv, runcArgv, bundle, errFile, opts);
    printCommands(commands);
    const rssKiB = peakRss(tsrunArgv, bundle, errFile);
    console.log('\npeak RSS of tsrun commands (KiB, max of 3)');
    for (const [k, v] of Object.entries(rssKiB)) console.log(`${k.padEnd(11)}${pad(v, 9)}`);

    const results = { date: new Date().toISOString(), node: process.version, kernel: os.release(), cpus: os.cpus().length, opts, skipped, lifecycle, ratios, commands, rssKiB };
    fs.mkdirSync(path.join(repo, '.bench'), { recursive: true });
    fs.writeFileSync(path.join(repo, '.bench/results.json'), JSON.stringify(results, null, 2) + '\n');
    console.log('\nwrote .bench/results.json');
  } finally {
    crunWorker?.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
