import { openSync, closeSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  capMask, hostHasAppArmor, hostHasSELinux, installCleanup, makeBundle, probe, runContainer, skipName, skipNote, skipReason,
  type Bundle,
} from './lib/index.js';

installCleanup();

async function bundleWith(edit: (b: Bundle) => void): Promise<Bundle> {
  const b = await makeBundle();
  edit(b);
  return b;
}

const ZERO = '0000000000000000';

/** CAP_SYS_RESOURCE (bit 24) in this process's bounding set (MACHINE.md: missing on this host). */
function hasCapSysResource(): boolean {
  const bnd = readFileSync('/proc/self/status', 'utf8').match(/CapBnd:\s+([0-9a-f]+)/)![1]!;
  return ((BigInt('0x' + bnd) >> 24n) & 1n) === 1n;
}

describe.skipIf(!!skipReason)(`process${skipNote}`, () => {
  it('args reach the process unchanged', async () => {
    const b = await makeBundle({ args: ['/bin/sh', '-c', 'printf "<%s>" "$@"', 'sh', 'a b', '', 'c"d\\e'] });
    const r = await runContainer(b);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('<a b><><c"d\\e>');
  });

  it('env is exactly process.env; tsrun\'s own environment does not leak', async () => {
    const b = await bundleWith((b) => {
      b.config.process.env = ['PATH=/bin:/usr/bin', 'HOME=/root', 'FOO=bar baz', 'EMPTY=', 'TERM=xterm'];
    });
    const r = await probe(b, [], { env: { ...process.env, CONF_CANARY: 'leaked-canary' } });
    expect([...r.env].sort()).toEqual(['EMPTY=', 'FOO=bar baz', 'HOME=/root', 'PATH=/bin:/usr/bin', 'TERM=xterm']);
    expect(r.env.join('\n')).not.toMatch(/CANARY|NODE_|TSRUN_/);
  });

  it('cwd', async () => {
    const b = await bundleWith((b) => (b.config.process.cwd = '/home/tester'));
    expect((await probe(b)).cwd).toBe('/home/tester');
  });

  it('user: uid, gid, additionalGids (real, effective and saved)', async () => {
    const b = await bundleWith((b) => (b.config.process.user = { uid: 1000, gid: 1000, additionalGids: [2000, 3000] }));
    const r = await probe(b);
    expect(r.uid).toEqual({ real: 1000, effective: 1000, saved: 1000 });
    expect(r.gid).toEqual({ real: 1000, effective: 1000, saved: 1000 });
    expect([...r.groups].sort()).toEqual([2000, 3000]);
  });

  it('umask', async () => {
    const b = await bundleWith((b) => (b.config.process.user = { uid: 0, gid: 0, umask: 0o077 }));
    expect((await probe(b)).umask).toBe(0o077);
  });

  const bounding = ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SETUID', 'CAP_SYS_ADMIN'];
  const capsConfig = {
    bounding,
    effective: ['CAP_CHOWN', 'CAP_KILL'],
    permitted: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
    inheritable: ['CAP_KILL', 'CAP_NET_BIND_SERVICE'],
    ambient: ['CAP_KILL'],
  };

  // Root's execve grants pP' = bset | pI, pE' = pP' (capabilities(7), "Capabilities and execution of
  // programs by root"); with no_new_privs the result is further limited to the pre-exec permitted set.
  it('capabilities as root, noNewPrivileges false: bounding, inheritable, ambient exact; permitted = effective = bounding ∪ inheritable', async () => {
    const b = await bundleWith((b) => {
      b.config.process.capabilities = capsConfig;
      b.config.process.noNewPrivileges = false;
    });
    const r = await probe(b);
    expect(r.caps.bounding).toBe(capMask(bounding));
    expect(r.caps.inheritable).toBe(capMask(capsConfig.inheritable));
    expect(r.caps.ambient).toBe(capMask(capsConfig.ambient));
    expect(r.caps.permitted).toBe(capMask([...bounding, ...capsConfig.inheritable]));
    expect(r.caps.effective).toBe(r.caps.permitted);
  });

  it('capabilities as root, noNewPrivileges true: permitted = effective = configured permitted', async () => {
    const b = await bundleWith((b) => {
      b.config.process.capabilities = capsConfig;
      b.config.process.noNewPrivileges = true;
    });
    const r = await probe(b);
    expect(r.caps.bounding).toBe(capMask(bounding));
    expect(r.caps.inheritable).toBe(capMask(capsConfig.inheritable));
    expect(r.caps.ambient).toBe(capMask(capsConfig.ambient));
    expect(r.caps.permitted).toBe(capMask(capsConfig.permitted));
    expect(r.caps.effective).toBe(capMask(capsConfig.permitted));
  });

  it('capabilities as uid 1000: permitted = effective = ambient after execve (no file caps)', async () => {
    const b = await bundleWith((b) => {
      b.config.process.user = { uid: 1000, gid: 1000 };
      b.config.process.capabilities = capsConfig;
    });
    const r = await probe(b);
    expect(r.caps.bounding).toBe(capMask(bounding));
    expect(r.caps.inheritable).toBe(capMask(capsConfig.inheritable));
    expect(r.caps.ambient).toBe(capMask(['CAP_KILL']));
    expect(r.caps.permitted).toBe(capMask(['CAP_KILL']));
    expect(r.caps.effective).toBe(capMask(['CAP_KILL']));
  });

  it('no capabilities at all: every set empty', async () => {
    const b = await bundleWith((b) => {
      b.config.process.user = { uid: 1000, gid: 1000 };
      b.config.process.capabilities = { bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] };
    });
    const r = await probe(b);
    expect(r.caps).toEqual({ inheritable: ZERO, permitted: ZERO, effective: ZERO, bounding: ZERO, ambient: ZERO });
  });

  it('rlimits are set exactly as configured', async () => {
    const b = await bundleWith((b) => {
      b.config.process.rlimits = [
        { type: 'RLIMIT_NOFILE', soft: 777, hard: 888 },
        { type: 'RLIMIT_CORE', soft: 1234, hard: 4321 },
        { type: 'RLIMIT_MSGQUEUE', soft: 100000, hard: 200000 },
        { type: 'RLIMIT_NPROC', soft: 500, hard: 600 },
      ];
    });
    const r = await probe(b);
    expect(r.rlimits.RLIMIT_NOFILE).toEqual({ soft: '777', hard: '888' });
    expect(r.rlimits.RLIMIT_CORE).toEqual({ soft: '1234', hard: '4321' });
    expect(r.rlimits.RLIMIT_MSGQUEUE).toEqual({ soft: '100000', hard: '200000' });
    expect(r.rlimits.RLIMIT_NPROC).toEqual({ soft: '500', hard: '600' });
  });

  it('an unconfigured RLIMIT_NOFILE is the caller\'s, not the one Node raised', async () => {
    const b = await bundleWith((b) => delete b.config.process.rlimits);
    const prefix = ['/bin/sh', '-c', 'ulimit -Sn 555 && exec "$@"', 'sh'];
    const r = await probe(b, [], { prefix });
    expect(r.rlimits.RLIMIT_NOFILE!.soft).toBe('555');
    const hostHard = readFileSync('/proc/self/limits', 'utf8').match(/Max open files\s+\d+\s+(\d+)/)![1];
    expect(r.rlimits.RLIMIT_NOFILE!.hard).toBe(hostHard);
  });

  it('noNewPrivileges true → NoNewPrivs 1; false → 0', async () => {
    const on = await bundleWith((b) => (b.config.process.noNewPrivileges = true));
    expect((await probe(on)).noNewPrivs).toBe(1);
    const off = await bundleWith((b) => (b.config.process.noNewPrivileges = false));
    expect((await probe(off)).noNewPrivs).toBe(0);
  });

  // Raising only: lowering needs CAP_SYS_RESOURCE, which this host's bounding set lacks (MACHINE.md).
  it('oomScoreAdj (raised above the caller\'s)', async () => {
    const mine = Number(readFileSync('/proc/self/oom_score_adj', 'utf8'));
    const want = Math.min(1000, mine + 123);
    const b = await bundleWith((b) => (b.config.process.oomScoreAdj = want));
    expect((await probe(b)).oomScoreAdj).toBe(want);
  });

  const noSysResource = !hasCapSysResource();
  it.skipIf(noSysResource)(skipName(noSysResource, 'oomScoreAdj lowered below the caller\'s', 'no CAP_SYS_RESOURCE in the bounding set'), async () => {
    const mine = Number(readFileSync('/proc/self/oom_score_adj', 'utf8'));
    const want = Math.max(-1000, mine - 100);
    const b = await bundleWith((b) => (b.config.process.oomScoreAdj = want));
    expect((await probe(b)).oomScoreAdj).toBe(want);
  });

  it.skipIf(noSysResource)(skipName(noSysResource, 'rlimit above the caller\'s hard limit', 'no CAP_SYS_RESOURCE in the bounding set'), async () => {
    const hard = Number(readFileSync('/proc/self/limits', 'utf8').match(/Max open files\s+\d+\s+(\d+)/)![1]);
    const b = await bundleWith((b) => (b.config.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: hard + 1, hard: hard + 1 }]));
    expect((await probe(b)).rlimits.RLIMIT_NOFILE).toEqual({ soft: String(hard + 1), hard: String(hard + 1) });
  });

  it('personality LINUX32', async () => {
    const b = await bundleWith((b) => (b.config.linux.personality = { domain: 'LINUX32' }));
    expect((await probe(b)).personality & 0xff).toBe(0x0008); // PER_LINUX32
  });

  it('scheduler SCHED_BATCH with nice 5', async () => {
    const b = await bundleWith((b) => (b.config.process.scheduler = { policy: 'SCHED_BATCH', nice: 5 }));
    const r = await probe(b);
    expect(r.sched.policyName).toBe('SCHED_BATCH');
    expect(r.sched.nice).toBe(5);
  });

  it('scheduler SCHED_IDLE', async () => {
    const b = await bundleWith((b) => (b.config.process.scheduler = { policy: 'SCHED_IDLE' }));
    expect((await probe(b)).sched.policyName).toBe('SCHED_IDLE');
  });

  it('ioPriority IOPRIO_CLASS_BE 6', async () => {
    const b = await bundleWith((b) => (b.config.process.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 6 }));
    expect((await probe(b)).ioprio).toBe((2 << 13) | 6);
  });

  it.skipIf(cpus().length < 2)(skipName(cpus().length < 2, 'execCPUAffinity final applies to the process', 'fewer than 2 CPUs'), async () => {
    const b = await bundleWith((b) => (b.config.process.execCPUAffinity = { initial: '0', final: '1' }));
    expect((await probe(b)).affinity).toEqual([1]);
  });

  it('no signals ignored or blocked (SigIgn/SigBlk 0) although Node ignores some', async () => {
    const r = await probe(await makeBundle());
    expect(r.sigIgn).toBe(ZERO);
    expect(r.sigBlk).toBe(ZERO);
  });

  it('only fds 0-2 are open, even when tsrun inherited more', async () => {
    const extra = openSync('/tmp', 'r');
    try {
      const r = await probe(await makeBundle(), [], { extraFds: [extra, extra] });
      expect(Object.keys(r.fds).sort()).toEqual(['0', '1', '2']);
    } finally {
      closeSync(extra);
    }
  });

  it('Seccomp 0 when no seccomp is configured', async () => {
    const b = await bundleWith((b) => delete b.config.linux.seccomp);
    expect((await probe(b)).seccomp).toBe(0);
  });

  it.skipIf(hostHasAppArmor())(skipName(hostHasAppArmor(), 'apparmorProfile without AppArmor on the host: clear error', 'host has apparmor'), async () => {
    const b = await bundleWith((b) => (b.config.process.apparmorProfile = 'conf-profile'));
    const r = await runContainer(b);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/apparmor/i);
  });

  it.skipIf(hostHasSELinux())(skipName(hostHasSELinux(), 'selinuxLabel without SELinux on the host: clear error', 'host has selinux'), async () => {
    const b = await bundleWith((b) => (b.config.process.selinuxLabel = 'system_u:system_r:container_t:s0'));
    const r = await runContainer(b);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/selinux/i);
  });
});
