// Smoke suite for the test VM (scripts/vm/run.sh runs it inside with node): the host is pure cgroup
// v2 with every controller enabled, and tsrun runs containers there. Prints one JSON line per check
// ({"check", "ok", ...details}) and a last line `N passed, M failed`; exits 1 if any check failed.
// Environment (set by the VM's /init): TSRUN_BIN (the tsrun launcher), TSRUN_VM_BUNDLE (a busybox
// bundle from scripts/make-bundle.sh whose rootfs is shared, read-only use, by every container).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const tsrunBin = process.env.TSRUN_BIN ?? '/tsrun/bin/tsrun';
const template = process.env.TSRUN_VM_BUNDLE ?? '/bundle';
const cgroupRoot = '/sys/fs/cgroup';
// The controllers a 6.x kernel built like Debian's offers on v2; rdma and misc depend on config.
const REQUIRED_CONTROLLERS = ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids'];

const work = mkdtempSync('/tmp/vm-smoke-');
const stateRoot = join(work, 'state');
let passed = 0;
let failed = 0;
let serial = 0;

function report(check, ok, details = {}) {
  if (ok) passed += 1;
  else failed += 1;
  console.log(JSON.stringify({ check, ok, ...details }));
}

function check(name, fn) {
  try {
    const { ok, ...details } = fn();
    report(name, ok, details);
  } catch (e) {
    report(name, false, { error: e instanceof Error ? e.stack ?? e.message : String(e) });
  }
}

/** Every cgroup directory under the v2 root, relative, so a run can be shown to leave none behind. */
function cgroupDirs(dir = cgroupRoot, rel = '') {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    out.push(`${rel}/${e.name}`);
    out.push(...cgroupDirs(join(dir, e.name), `${rel}/${e.name}`));
  }
  return out;
}

/** `tsrun run` of args in a fresh bundle sharing the template's rootfs; returns output and timing. */
function runContainer(args) {
  const id = `smoke-${process.pid}-${(serial += 1)}`;
  const bundle = join(work, id);
  mkdirSync(bundle);
  const config = JSON.parse(readFileSync(join(template, 'config.json'), 'utf8'));
  config.process.args = args;
  config.process.terminal = false;
  config.root = { path: join(template, 'rootfs'), readonly: true };
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
  const start = process.hrtime.bigint();
  const r = spawnSync(tsrunBin, ['--root', stateRoot, 'run', '--bundle', bundle, id], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
    killSignal: 'SIGKILL',
  });
  const ms = Number((process.hrtime.bigint() - start) / 1_000_000n);
  return { id, code: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ms, error: r.error?.message };
}

const cgroupsBefore = (() => {
  try {
    return cgroupDirs();
  } catch {
    return [];
  }
})();

check('cgroup2 mounted at /sys/fs/cgroup, no v1 hierarchy', () => {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n');
  // mountinfo: fields before " - " then fstype; field 5 is the mount point.
  const parsed = mounts.map((l) => ({ point: l.split(' ')[4], fstype: l.split(' - ')[1]?.split(' ')[0] }));
  const atRoot = parsed.filter((m) => m.point === cgroupRoot).map((m) => m.fstype);
  const v1 = parsed.filter((m) => m.fstype === 'cgroup').map((m) => m.point);
  return { ok: atRoot.length === 1 && atRoot[0] === 'cgroup2' && v1.length === 0, atRoot, v1 };
});

check('all controllers available and enabled for children', () => {
  const available = readFileSync(join(cgroupRoot, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
  const enabled = readFileSync(join(cgroupRoot, 'cgroup.subtree_control'), 'utf8').trim().split(/\s+/);
  const missing = REQUIRED_CONTROLLERS.filter((c) => !available.includes(c));
  const notEnabled = available.filter((c) => !enabled.includes(c));
  return { ok: missing.length === 0 && notEnabled.length === 0, available, missing, notEnabled };
});

check('overlay filesystem available (module from the kernel package loaded by /init)', () => {
  const fs = readFileSync('/proc/filesystems', 'utf8').split('\n').map((l) => l.trim().split(/\s+/).pop());
  return { ok: fs.includes('overlay') };
});

check('tsrun run of busybox true exits 0', () => {
  const r = runContainer(['true']);
  return { ok: r.code === 0 && r.error === undefined, code: r.code, signal: r.signal, stderr: r.stderr, firstStartMs: r.ms };
});

check('tsrun run of cat /proc/self/cgroup shows one v2 entry', () => {
  const r = runContainer(['cat', '/proc/self/cgroup']);
  const lines = r.stdout.trim().split('\n');
  // On a pure v2 host the file has exactly one line, "0::<path>" (cgroups(7)).
  const ok = r.code === 0 && lines.length === 1 && /^0::\/\S*$/.test(lines[0]);
  return { ok, code: r.code, stdout: r.stdout, stderr: r.stderr, ms: r.ms };
});

check('tsrun run passes the container exit code on', () => {
  const r = runContainer(['sh', '-c', 'exit 3']);
  return { ok: r.code === 3, code: r.code, stderr: r.stderr, ms: r.ms };
});

check('no container state or cgroup left behind', () => {
  const state = (() => {
    try {
      return readdirSync(stateRoot);
    } catch {
      return [];
    }
  })();
  const leftover = cgroupDirs().filter((d) => !cgroupsBefore.includes(d));
  return { ok: state.length === 0 && leftover.length === 0, state, leftoverCgroups: leftover };
});

rmSync(work, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
