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
import { existsSync, lstatSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  containerState, installCleanup, makeBundle, newId, repoRoot, runContainer, skipNote, skipReason, tsrun, waitFor,
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

  it('the waiting init is non-dumpable, seen from the host (its /proc entries belong to root, not to its uid)', async () => {
    // The kernel makes /proc/<pid>/* of a non-dumpable process root-owned whatever its euid; the
    // init already runs as the configured user while it waits on the exec fifo. A dumpable init
    // (the CVE-2016-9962 hole) shows uid 1000 here.
    const b = await makeBundle({ args: ['/bin/true'] });
    b.config.process.user = { uid: 1000, gid: 1000 };
    b.write();
    const id = newId('sec');
    const c = await tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir });
    expect(c.code, c.stderr).toBe(0);
    try {
      const { pid } = await containerState(id);
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      expect(status).toMatch(/^Uid:\s+1000\s+1000\s+1000\s+1000$/m);
      // lstat: cwd and exe are magic links; their own owner is what the kernel sets.
      for (const entry of ['fd', 'environ', 'cwd', 'exe']) expect(lstatSync(`/proc/${pid}/${entry}`).uid, entry).toBe(0);
    } finally {
      await tsrun(['delete', '--force', id]);
    }
  });
});
