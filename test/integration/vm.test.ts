// Boots the throwaway pure cgroup v2 VM (scripts/vm/run.sh: qemu TCG, Debian cloud kernel, an
// initramfs with node and the build) once, running the smoke suite and every test/vm/*.suite.ts
// inside, and asserts on what each suite reported. This host is hybrid (v1 + a hugetlb-only v2), so
// the VM is where the cgroup v2 code is proven for real (issue 3).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const runSh = join(root, 'scripts', 'vm', 'run.sh');

const suiteDir = join(root, 'test', 'vm');
const extraSuites = existsSync(suiteDir)
  ? readdirSync(suiteDir).filter((f) => f.endsWith('.suite.ts')).sort().map((f) => join(suiteDir, f))
  : [];
const suites = [join(root, 'scripts', 'vm', 'smoke.mjs'), ...extraSuites];
// A bound, not the expected time (about a minute per suite on a busy host): TCG is slow and noisy.
const vmLimitS = 120 + 90 * suites.length;

// Installing qemu (only if missing) and fetching the kernel happen here, at collection, so a host
// where they cannot be had skips with the reason in the test names. Exit 3 is run.sh's "unavailable".
const ensure = spawnSync('bash', [runSh, '--ensure-only'], { encoding: 'utf8', timeout: 600_000 });
const unavailable = ensure.status === 3 ? (ensure.stderr.match(/unavailable: (.*)/)?.[1] ?? 'qemu unavailable') : undefined;
const skipNote = unavailable === undefined ? '' : ` (skipped: ${unavailable})`;

interface VmRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs run.sh in its own process group so a timeout can kill qemu with it; never rejects. */
function runVm(): Promise<VmRun> {
  const start = Date.now();
  return new Promise((resolvePromise) => {
    const child = spawn('bash', [runSh, ...suites.flatMap((s) => ['--suite', s])], {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TSRUN_VM_TIMEOUT: String(vmLimitS) },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // run.sh bounds qemu itself; this only guards against run.sh hanging before or after qemu.
    // TERM first so its trap removes qemu and its work dir; KILL the group if that does not end it.
    const kill = (signal: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    };
    const timers = [setTimeout(() => kill('SIGTERM'), (vmLimitS + 60) * 1000), setTimeout(() => kill('SIGKILL'), (vmLimitS + 75) * 1000)];
    child.on('close', (code) => {
      timers.forEach(clearTimeout);
      resolvePromise({ code, stdout, stderr, ms: Date.now() - start });
    });
  });
}

interface SuiteResult {
  rc: number | undefined;
  lines: string[];
}

/** The output between @@VM-RESULT-BEGIN NAME and @@VM-RESULT-END NAME rc=N. */
function suiteResult(stdout: string, name: string): SuiteResult {
  const all = stdout.split('\n');
  const begin = all.indexOf(`@@VM-RESULT-BEGIN ${name}`);
  const endAt = all.findIndex((l, i) => i > begin && l.startsWith(`@@VM-RESULT-END ${name} `));
  if (begin < 0 || endAt < 0) return { rc: undefined, lines: begin < 0 ? [] : all.slice(begin + 1) };
  const rc = Number(all[endAt].match(/ rc=(\d+)/)?.[1]);
  return { rc, lines: all.slice(begin + 1, endAt) };
}

/** JSON check lines that say they failed, whichever of the usual field names the suite uses. */
function failedChecks(lines: string[]): string[] {
  return lines.filter((l) => {
    if (!l.startsWith('{')) return false;
    try {
      const o = JSON.parse(l) as Record<string, unknown>;
      return o.ok === false || o.pass === false || o.passed === false || o.status === 'fail' || o.status === 'failed';
    } catch {
      return false;
    }
  });
}

function summary(lines: string[]): { passed: number; failed: number } | undefined {
  const m = [...lines].reverse().map((l) => l.match(/^(\d+) passed, (\d+) failed$/)).find((x) => x !== null);
  return m ? { passed: Number(m[1]), failed: Number(m[2]) } : undefined;
}

describe.skipIf(unavailable !== undefined)(`pure cgroup v2 VM (qemu TCG)${skipNote}`, () => {
  let vm: VmRun;

  beforeAll(async () => {
    vm = await runVm();
    // The guest kernel under TCG emulation has been seen to oops inside the page allocator (once in
    // several full runs, not reproducible); a guest panic says nothing about tsrun, so boot once more.
    // Any other failure, and a second panic, fail the tests below.
    if (/Kernel panic/.test(vm.stderr)) {
      console.log('vm: the guest kernel panicked; booting once more');
      vm = await runVm();
    }
    // Timings for the report: boot, per-suite, total (run.sh prints them on stderr).
    console.log(`vm: run.sh exit ${vm.code} after ${vm.ms} ms\n${vm.stderr.split('\n').filter((l) => l.startsWith('vm: ')).join('\n')}`);
  }, (vmLimitS + 90) * 1000);

  it(`boots and finishes every suite within ${vmLimitS} s${skipNote}`, () => {
    expect(vm.stdout, vm.stderr).toMatch(/^@@VM-BOOTED /m);
    expect(vm.stdout, vm.stderr).toMatch(/^@@VM-DONE /m);
    expect([0, 1], vm.stderr).toContain(vm.code);
  });

  it(`smoke: cgroup2 with all controllers, overlay, tsrun run works${skipNote}`, () => {
    const r = suiteResult(vm.stdout, 'smoke.mjs');
    expect(failedChecks(r.lines), r.lines.join('\n')).toEqual([]);
    expect(summary(r.lines), r.lines.join('\n')).toEqual({ passed: 7, failed: 0 });
    expect(r.rc).toBe(0);
  });

  for (const suite of extraSuites) {
    const name = suite.split('/').pop()!.replace(/\.ts$/, '.mjs');
    it(`${name}: every check passed${skipNote}`, () => {
      const r = suiteResult(vm.stdout, name);
      expect(failedChecks(r.lines), r.lines.join('\n')).toEqual([]);
      const s = summary(r.lines);
      expect(s, r.lines.join('\n')).toBeDefined();
      expect(s!.failed, r.lines.join('\n')).toBe(0);
      expect(s!.passed).toBeGreaterThan(0);
      expect(r.rc, r.lines.join('\n')).toBe(0);
    });
  }
});
