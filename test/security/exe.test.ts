// SECURITY.md 2 (/proc/self/exe overwrite, CVE-2019-5736) and 3 (access to the not-yet-started
// process, CVE-2016-9962). tsrun's runtime side is the host's node and oci-init: an entrypoint
// `#!/proc/self/exe` makes the kernel re-execute whatever the exec'ing process is, and a process
// in the container's pid namespace can open /proc/<init>/exe, fd, environ, cwd of a waiting init
// unless it is non-dumpable.
// How these fail on a runtime with the hole: a dumpable waiting init (same uid, caps already
// reduced to the config's, see the host view in fds.test.ts) is readable by container root, so
// the attacker container's readlink/ls/cat succeed and it prints OPEN; an init exec'd from the
// host oci-init file makes /proc/<pid>/exe a linked host file (nlink > 0, outside the rootfs),
// and the append-open (`: >> /proc/<pid>/exe`, which writes nothing) succeeds on a writable one.
// Checked: with oci-init's PR_SET_DUMPABLE 0 removed, the attacker, host-view and exec-helper
// cases fail (the old host-view case, an init running as uid 1000, passed: the kernel drops
// dumpable by itself on a uid change).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  containerState, installCleanup, makeBundle, newId, onCleanup, repoRoot, runContainer, skipNote, skipReason, trackDir, tsrun, waitFor,
} from '../../conformance/lib/index.js';
import { execMissing, processesUnder, sha256 } from './helpers/index.js';

installCleanup();

const noExec = skipReason ? '' : await execMissing();
const nodeBin = realpathSync(process.execPath);
const ociInit = join(repoRoot, 'build', 'Release', 'oci-init');
const EVIL = '#!/proc/self/exe\n';

/** Problems with /proc/<pid>/exe of every process rooted in the bundle: linked host files outside it. */
function exeProblems(bundleDir: string, rootfs: string): string[] {
  const out: string[] = [];
  for (const pid of processesUnder(bundleDir)) {
    try {
      const st = statSync(`/proc/${pid}/exe`);
      const inRootfs = (() => {
        try {
          return realpathSync(`/proc/${pid}/exe`).startsWith(rootfs + '/');
        } catch {
          return false;
        }
      })();
      if (st.nlink > 0 && !inRootfs) out.push(`pid ${pid} runs host file ${realpathSync(`/proc/${pid}/exe`)}`);
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

describe.skipIf(!!skipReason)(`/proc/self/exe and the waiting init (CVE-2019-5736, CVE-2016-9962)${skipNote}`, () => {
  const before = { node: '', init: '' };
  it('a #!/proc/self/exe entrypoint (run -d, then exec) never reaches a writable host binary', async () => {
    before.node = sha256(nodeBin);
    before.init = sha256(ociInit);
    const b = await makeBundle({ args: ['/bin/evil'] });
    writeFileSync(join(b.rootfs, 'bin', 'evil'), EVIL, { mode: 0o755 });
    for (let i = 0; i < 5; i++) {
      const id = newId('sec');
      b.write();
      await tsrun(['run', '-d', '--bundle', b.dir, id], { cwd: b.dir });
      expect(exeProblems(b.dir, b.rootfs)).toEqual([]);
      await tsrun(['delete', '--force', id]);
    }
    // A long-lived init, and exec'd #!/proc/self/exe processes next to it.
    b.config.process.args = ['/bin/sleep', '100'];
    const id = newId('sec');
    b.write();
    expect((await tsrun(['run', '-d', '--bundle', b.dir, id], { cwd: b.dir })).code).toBe(0);
    if (!noExec) {
      for (let i = 0; i < 5; i++) {
        await tsrun(['exec', id, '/bin/evil']);
        expect(exeProblems(b.dir, b.rootfs)).toEqual([]);
      }
    }
    await tsrun(['delete', '--force', id]);
    expect(sha256(nodeBin)).toBe(before.node);
    expect(sha256(ociInit)).toBe(before.init);
  }, 60000);

  it('a container sharing the pid namespace can neither read nor open for writing the waiting init', async () => {
    // Attacker: waits for the init's pid (in its namespace) in /tmp/go, then tries each file.
    const attack = [
      'while [ ! -s /tmp/go ]; do usleep 20000; done; p=$(cat /tmp/go)',
      'r=""',
      'readlink /proc/$p/exe >/dev/null 2>&1 && r="$r exe:OPEN"',
      // Listing /proc/<pid>/fd is allowed to the same uid whatever dumpable says; reading its links
      // (ls -l shows "->" only when readlink worked) needs ptrace access, which non-dumpable denies.
      'ls -l /proc/$p/fd/ 2>/dev/null | grep -q -- "->" && r="$r fd:OPEN"',
      'for f in /proc/$p/fd/*; do cat "$f" </dev/null >/dev/null 2>&1 && r="$r fd-open:$f"; done',
      'ls /proc/$p/cwd/ >/dev/null 2>&1 && r="$r cwd:OPEN"',
      'cat /proc/$p/environ >/dev/null 2>&1 && r="$r environ:OPEN"',
      '( : >> /proc/$p/exe ) 2>/dev/null && r="$r exe:WRITABLE"',
      'for i in 1 2 3 4 5; do ( : >> /proc/$p/exe ) 2>/dev/null && r="$r exe:WRITABLE"; done',
      'cat /proc/$p/environ 2>/dev/null | tr "\\0" "\\n" | grep CANARY && r="$r CANARY"',
      'echo "result:$r" > /tmp/result.part; mv /tmp/result.part /tmp/result; sleep 100',
    ].join('\n');
    const attacker = await makeBundle({ args: ['/bin/sh', '-c', attack], readonlyRoot: false });
    const aid = newId('sec');
    attacker.write();
    expect((await tsrun(['run', '-d', '--bundle', attacker.dir, aid], { cwd: attacker.dir })).code).toBe(0);
    const apid = (await containerState(aid)).pid!;

    const victim = await makeBundle({ args: ['/bin/sleep', '100'] });
    victim.config.linux.namespaces = (victim.config.linux.namespaces ?? []).map((n) =>
      n.type === 'pid' ? { type: 'pid', path: `/proc/${apid}/ns/pid` } : n);
    const vid = newId('sec');
    victim.write();
    const c = await tsrun(['create', '--bundle', victim.dir, vid], {
      cwd: victim.dir,
      env: { ...process.env, SEC_CANARY: 'canary-in-tsrun-env' },
    });
    expect(c.code, c.stderr).toBe(0);
    const vpid = (await containerState(vid)).pid!;
    const nspid = /NSpid:\s+([\d\s]+)/.exec(readFileSync(`/proc/${vpid}/status`, 'utf8'))![1]!.trim().split(/\s+/).pop()!;
    writeFileSync(join(attacker.rootfs, 'tmp', 'go'), nspid);
    const resultFile = join(attacker.rootfs, 'tmp', 'result');
    expect(await waitFor(() => existsSync(resultFile), 10000), 'attacker produced no result').toBe(true);
    expect(readFileSync(resultFile, 'utf8').trim()).toBe('result:');
    expect(readFileSync(`/proc/${vpid}/environ`, 'utf8')).not.toContain('CANARY');
    await tsrun(['delete', '--force', vid]);
    await tsrun(['delete', '--force', aid]);
    expect(sha256(ociInit)).toBe(before.init || sha256(ociInit));
  }, 30000);

  it('tsrun\'s own environment (a CANARY) never reaches the container process', async () => {
    const b = await makeBundle({ args: ['/bin/env'] });
    const r = await runContainer(b, newId('sec'), { env: { ...process.env, SEC_CANARY: 'canary-in-tsrun-env' } });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/CANARY|NODE_|TSRUN_/);
  });

  const hasSetpriv = existsSync('/usr/bin/setpriv');
  it.skipIf(!hasSetpriv)(`the waiting init is non-dumpable, seen from the host: a capability-less uid 0 process cannot open its /proc files${hasSetpriv ? '' : ' (skipped: no setpriv)'}`, async () => {
    // uid 0 and no capabilities on both sides, so ptrace_may_access is decided by the init's
    // dumpable flag alone (a uid change would have made the kernel drop it by itself, hiding a
    // missing PR_SET_DUMPABLE: an init running as uid 1000 proves nothing). The reader is this
    // host's uid 0 under setpriv with every capability set empty and SECBIT_NOROOT.
    const b = await makeBundle({ args: ['/bin/true'] });
    b.config.process.capabilities = { bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] };
    b.write();
    const id = newId('sec');
    const c = await tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir });
    expect(c.code, c.stderr).toBe(0);
    const read = (pid: number): string => execFileSync('setpriv', [
      '--securebits', '+noroot,+noroot_locked,+no_setuid_fixup,+no_setuid_fixup_locked', '--bounding-set', '-all', '--inh-caps', '-all', '--',
      '/bin/sh', '-c', 'r=""; cat $1/environ >/dev/null 2>&1 && r="$r environ"; ( cd $1/cwd ) 2>/dev/null && r="$r cwd"; ' +
        'readlink $1/exe >/dev/null 2>&1 && r="$r exe"; ls -l $1/fd/ 2>/dev/null | grep -q -- "->" && r="$r fd"; echo "opened:$r"', 'sh', `/proc/${pid}`,
    ], { encoding: 'utf8' }).trim();
    try {
      const pid = (await containerState(id)).pid!;
      expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/^CapPrm:\s+0+$/m);
      expect(read(pid)).toBe('opened:');
      // Control: the same reader opens everything of a dumpable uid 0 process without capabilities.
      const sleeper = spawn('setpriv', ['--securebits', '+noroot,+noroot_locked', '--bounding-set', '-all', '--inh-caps', '-all', '--', 'sleep', '30'], { stdio: 'ignore' });
      onCleanup(() => void sleeper.kill('SIGKILL'));
      expect(await waitFor(() => readFileSync(`/proc/${sleeper.pid}/comm`, 'utf8').trim() === 'sleep', 3000)).toBe(true);
      expect(read(sleeper.pid!)).toBe('opened: environ cwd exe fd');
      sleeper.kill('SIGKILL');
    } finally {
      await tsrun(['delete', '--force', id]);
    }
  });

  // The exec helper never waits on its own once it has its final identity, so a seccomp agent
  // holds it: the profile notifies on execve and the second agent (the exec's own listener)
  // answers only after 4 s. Meanwhile the container's init, root with the same capabilities as
  // the helper by then, tries its /proc files; only the helper's non-dumpable flag stands in the
  // way (same uid, caps no superset: nothing else of ptrace_may_access applies). The control
  // repeats the attempt on the exec'd process itself, which is dumpable and must be readable.
  it.skipIf(!!noExec)(`the exec helper, held before its execve, is as closed to the container as the waiting init${noExec ? ` (skipped: ${noExec})` : ''}`, async () => {
    const dir = trackDir(mkdtempSync('/tmp/tsrun-conf-sec-agent-'));
    const agentBin = join(dir, 'seccomp-agent');
    execFileSync('cc', ['-O2', '-o', agentBin, join(repoRoot, 'test', 'fixtures', 'seccomp-agent.c')]);
    const sock = join(dir, 'agent.sock');
    const agent = async (out: string, delayMs: string): Promise<void> => {
      const proc = spawn(agentBin, [sock, join(dir, out), 'continue', delayMs], { stdio: ['ignore', 'ignore', 'inherit'] });
      onCleanup(() => void proc.kill('SIGKILL'));
      expect(await waitFor(() => existsSync(sock), 5000)).toBe(true);
    };
    const attack = [
      'self=$(grep ^CapEff: /proc/self/status)',
      'try() { r=""; { : < $1/environ; } 2>/dev/null && r="$r environ"; ( cd $1/cwd ) 2>/dev/null && r="$r cwd"',
      '  readlink $1/exe >/dev/null 2>&1 && r="$r exe"; ls -l $1/fd/ 2>/dev/null | grep -q -- "->" && r="$r fd"; echo "$r"; }',
      'while :; do for d in /proc/[0-9]*; do',
      '  [ "$d" = /proc/1 ] && continue; st=$(cat $d/status 2>/dev/null) || continue',
      // Parent outside the namespace (tsrun) and the final capabilities: the helper after its identity change.
      '  echo "$st" | grep -q "^PPid:[[:space:]]*0$" || continue; echo "$st" | grep -qx "$self" || continue',
      '  comm=$(cat $d/comm); helper=$(try $d)',
      '  while [ "$(cat $d/comm 2>/dev/null)" != sleep ]; do usleep 20000; done',
      '  echo "helper:$comm:$helper|control:$(try $d)" > /tmp/result.part; mv /tmp/result.part /tmp/result; exec sleep 100',
      'done; usleep 20000; done',
    ].join('\n');
    const b = await makeBundle({ args: ['/bin/sh', '-c', attack], readonlyRoot: false });
    (b.config.linux as Record<string, unknown>).seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW', listenerPath: sock, syscalls: [{ names: ['execve'], action: 'SCMP_ACT_NOTIFY' }],
    };
    await agent('init.json', '0');
    const id = newId('sec');
    b.write();
    expect((await tsrun(['run', '-d', '--bundle', b.dir, id], { cwd: b.dir })).code).toBe(0);
    try {
      rmSync(sock);
      await agent('exec.json', '4000');
      const e = await tsrun(['exec', '-d', id, '/bin/sleep', '30']);
      expect(e.code, e.stderr).toBe(0);
      const resultFile = join(b.rootfs, 'tmp', 'result');
      expect(await waitFor(() => existsSync(resultFile), 10000), 'attacker produced no result').toBe(true);
      const [helper, control] = readFileSync(resultFile, 'utf8').trim().split('|');
      expect(readFileSync(join(dir, 'exec.json.log'), 'utf8')).toMatch(/^nr \d+\nanswered\n/);
      // helper:<its comm>:<what opened>; the comm holds a ':' (memfd:oci-init).
      const [, comm, opened] = /^helper:(.*):(.*)$/.exec(helper!)!;
      expect(comm).not.toBe('sleep');
      expect(opened).toBe('');
      expect(control).toBe('control: environ cwd exe fd');
    } finally {
      await tsrun(['delete', '--force', id]);
    }
  }, 30000);
});
