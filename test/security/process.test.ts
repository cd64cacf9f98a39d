// SECURITY.md 4 (process state inherited from Node), 5 (capabilities, CVE-2022-29162 and crun
// CVE-2022-27650) and 12 (`exec --user`, crun CVE-2026-30892).
// How these fail on a runtime with the hole: Node ignores SIGPIPE/SIGXFSZ and raises
// RLIMIT_NOFILE, so a runtime that passed its own state on shows SigIgn != 0 or a NOFILE of
// Node's raised limit instead of the caller's 555; under capsh the parent's inheritable and
// ambient CAP_NET_RAW shows up in the container's CapInh/CapAmb when not cleared; a wrong
// --user shows in the uid/gid the probe prints. Each assertion is on what the probe printed.
// Checked: with TSRUN_BIN=/usr/sbin/runc (Go raises its own NOFILE) the rlimit case fails,
// showing the runtime's raised soft limit instead of the caller's 555.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  capMask, installCleanup, makeBundle, newId, parseProbe, probe, skipNote, skipReason, tsrun, type ProbeReport,
} from '../../conformance/lib/index.js';
import { execMissing } from './helpers/index.js';

installCleanup();

const ZERO = '0000000000000000';
const noExec = skipReason ? '' : await execMissing();
const hasCapsh = (() => {
  try {
    const out = execFileSync('capsh', ['--inh=cap_net_raw', '--addamb=cap_net_raw', '--', '-c', 'grep CapAmb /proc/self/status'], { encoding: 'utf8' });
    return /CapAmb:\s+0*2000$/m.test(out);
  } catch {
    return false;
  }
})();
const CAPS = {
  bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_RAW', 'CAP_SETUID'],
  effective: ['CAP_CHOWN', 'CAP_KILL'],
  permitted: ['CAP_CHOWN', 'CAP_KILL'],
  inheritable: [] as string[],
  ambient: [] as string[],
};
const withCapsh = ['capsh', '--inh=cap_net_raw', '--addamb=cap_net_raw', '--', '-c', 'exec "$0" "$@"'];

function expectCaps(r: ProbeReport): void {
  expect(r.caps).toEqual({
    bounding: capMask(CAPS.bounding),
    effective: capMask(CAPS.effective),
    permitted: capMask(CAPS.permitted),
    inheritable: ZERO,
    ambient: ZERO,
  });
}

describe.skipIf(!!skipReason)(`process state and capabilities${skipNote}`, () => {
  it('no ignored or blocked signal from Node reaches the container (SigIgn=0, SigBlk=0)', async () => {
    const r = await probe(await makeBundle());
    expect(r.sigIgn).toBe(ZERO);
    expect(r.sigBlk).toBe(ZERO);
  });

  it('rlimits: exactly as configured, else the caller\'s (not Node\'s raised NOFILE)', async () => {
    const b = await makeBundle();
    b.config.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 321, hard: 654 }, { type: 'RLIMIT_NPROC', soft: 77, hard: 88 }];
    const r = await probe(b);
    expect(r.rlimits.RLIMIT_NOFILE).toEqual({ soft: '321', hard: '654' });
    expect(r.rlimits.RLIMIT_NPROC).toEqual({ soft: '77', hard: '88' });
    delete b.config.process.rlimits;
    const hostHard = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
    const d = await probe(b, [], { prefix: ['sh', '-c', 'ulimit -Sn 555 && exec "$@"', 'sh'] });
    expect(d.rlimits.RLIMIT_NOFILE).toEqual({ soft: '555', hard: hostHard });
  });

  it('env is exactly process.env, whatever tsrun\'s environment holds', async () => {
    const b = await makeBundle();
    // HOME is given: runc (and tsrun) add HOME from /etc/passwd only when it is missing.
    b.config.process.env = ['PATH=/bin', 'A=1', 'HOME=/x'];
    const r = await probe(b, [], { env: { ...process.env, NODE_OPTIONS: '--no-warnings', SEC_CANARY: 'x', TSRUN_NOFILE_SOFT: '9' } });
    expect([...r.env].sort()).toEqual(['A=1', 'HOME=/x', 'PATH=/bin']);
  });

  it.skipIf(!hasCapsh)(`under a parent with inheritable+ambient CAP_NET_RAW the five sets equal the config${hasCapsh ? '' : ' (skipped: capsh cannot set ambient caps here)'}`, async () => {
    const b = await makeBundle();
    b.config.process.capabilities = CAPS;
    expectCaps(await probe(b, [], { prefix: withCapsh }));
  });

  it.skipIf(!!noExec)(`exec --cap adds to bounding/effective/permitted, never to inheritable or ambient${noExec ? ` (skipped: ${noExec})` : ''}`, async () => {
    const b = await makeBundle({ args: ['/bin/sleep', '100'] });
    b.config.process.capabilities = CAPS;
    const id = newId('sec');
    b.write();
    expect((await tsrun(['run', '-d', '--bundle', b.dir, id], { cwd: b.dir, prefix: hasCapsh ? withCapsh : undefined })).code).toBe(0);
    try {
      const plain = parseProbe(await tsrun(['exec', id, '/bin/probe'], { prefix: hasCapsh ? withCapsh : undefined }));
      expectCaps(plain);
      const r = parseProbe(await tsrun(['exec', '--cap', 'CAP_NET_ADMIN', id, '/bin/probe'], { prefix: hasCapsh ? withCapsh : undefined }));
      expect(r.caps.inheritable).toBe(ZERO);
      expect(r.caps.ambient).toBe(ZERO);
      expect(r.caps.permitted).toBe(capMask([...CAPS.permitted, 'CAP_NET_ADMIN']));
      expect(r.caps.effective).toBe(capMask([...CAPS.effective, 'CAP_NET_ADMIN']));
      expect(r.caps.bounding).toBe(capMask([...CAPS.bounding, 'CAP_NET_ADMIN']));
    } finally {
      await tsrun(['delete', '--force', id]);
    }
  });

  it.skipIf(!!noExec)(`exec --user 1 runs as uid 1, --user 1:2 as uid 1 gid 2${noExec ? ` (skipped: ${noExec})` : ''}`, async () => {
    const b = await makeBundle({ args: ['/bin/sleep', '100'] });
    const id = newId('sec');
    b.write();
    expect((await tsrun(['run', '-d', '--bundle', b.dir, id], { cwd: b.dir })).code).toBe(0);
    try {
      const u1 = parseProbe(await tsrun(['exec', '--user', '1', id, '/bin/probe']));
      expect(u1.uid).toEqual({ real: 1, effective: 1, saved: 1 });
      const u12 = parseProbe(await tsrun(['exec', '--user', '1:2', id, '/bin/probe']));
      expect(u12.uid).toEqual({ real: 1, effective: 1, saved: 1 });
      expect(u12.gid).toEqual({ real: 2, effective: 2, saved: 2 });
    } finally {
      await tsrun(['delete', '--force', id]);
    }
  });
});
