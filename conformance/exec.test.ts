import { openSync, closeSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  capMask, containerState, installCleanup, makeBundle, newId, parseProbe, pidAlive, skipNote, skipReason, tsrun,
  waitFor, type Bundle,
} from './lib/index.js';

installCleanup();

const NS = ['pid', 'net', 'ipc', 'uts', 'mnt', 'cgroup', 'user'];

/** A started container whose init sleeps; returns its id, init pid and bundle. */
async function running(edit?: (b: Bundle) => void): Promise<{ id: string; pid: number; b: Bundle }> {
  const b = await makeBundle({ args: ['/bin/sleep', '1000'] });
  edit?.(b);
  b.write();
  const id = newId();
  const c = await tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir });
  expect(c.stderr).toBe('');
  expect(c.code).toBe(0);
  expect((await tsrun(['start', id])).code).toBe(0);
  const st = await containerState(id);
  expect(st.status).toBe('running');
  return { id, pid: st.pid!, b };
}

const nsOf = (pid: number, name: string): number => statSync(`/proc/${pid}/ns/${name}`).ino;

describe.skipIf(!!skipReason)(`exec${skipNote}`, () => {
  it('runs in the container\'s namespaces, as a non-init pid', async () => {
    const { id, pid } = await running();
    const r = parseProbe(await tsrun(['exec', id, '/bin/probe']));
    for (const n of NS) expect(r.ns[n], n).toBe(nsOf(pid, n));
    expect(r.pid).toBeGreaterThan(1);
  });

  it('returns the exec\'d process\'s exit code', async () => {
    const { id } = await running();
    expect((await tsrun(['exec', id, '/bin/sh', '-c', 'exit 5'])).code).toBe(5);
  });

  it('--env, --cwd and --user uid:gid', async () => {
    const { id } = await running();
    const res = await tsrun(['exec', '--env', 'FOO=bar', '--cwd', '/tmp', '--user', '1000:1000', id, '/bin/probe'], {
      env: { ...process.env, CONF_CANARY: 'leaked-canary' },
    });
    const r = parseProbe(res);
    expect(r.env).toContain('FOO=bar');
    expect(r.env.some((e) => e.startsWith('PATH='))).toBe(true);
    expect(r.env.join('\n')).not.toMatch(/CANARY|NODE_|TSRUN_/);
    expect(r.cwd).toBe('/tmp');
    expect(r.uid).toEqual({ real: 1000, effective: 1000, saved: 1000 });
    expect(r.gid).toEqual({ real: 1000, effective: 1000, saved: 1000 });
  });

  // crun CVE-2026-30892: a numeric --user must mean exactly that uid (and gid 0 or the given gid).
  it('--user 1 runs as uid 1 gid 0; --user 1:2 as uid 1 gid 2', async () => {
    const { id } = await running();
    const a = parseProbe(await tsrun(['exec', '--user', '1', id, '/bin/probe']));
    expect(a.uid.effective).toBe(1);
    expect(a.gid.effective).toBe(0);
    const b = parseProbe(await tsrun(['exec', '--user', '1:2', id, '/bin/probe']));
    expect(b.uid).toEqual({ real: 1, effective: 1, saved: 1 });
    expect(b.gid).toEqual({ real: 2, effective: 2, saved: 2 });
  });

  it('--additional-gids', async () => {
    const { id } = await running();
    const r = parseProbe(await tsrun(['exec', '--user', '1000:1000', '--additional-gids', '2000', id, '/bin/probe']));
    expect(r.groups).toEqual([2000]);
  });

  it('--process process.json sets args, env, cwd and user', async () => {
    const { id, b } = await running();
    const proc = {
      terminal: false, user: { uid: 1000, gid: 1000 }, args: ['/bin/probe', '--read', '/etc/hostname'],
      env: ['PATH=/bin', 'ONLY=this'], cwd: '/home/tester',
    };
    const file = join(b.dir, 'process.json');
    writeFileSync(file, JSON.stringify(proc));
    const r = parseProbe(await tsrun(['exec', '--process', file, id]));
    // runc adds HOME from the user's passwd entry when process.env lacks it; nothing else.
    expect(r.env.filter((e) => !e.startsWith('HOME=')).sort()).toEqual(['ONLY=this', 'PATH=/bin']);
    for (const h of r.env.filter((e) => e.startsWith('HOME='))) expect(h).toBe('HOME=/home/tester');
    expect(r.cwd).toBe('/home/tester');
    expect(r.uid.effective).toBe(1000);
    expect(r.checks[0]).toMatchObject({ op: 'read', ok: true, content: 'conformance\n' });
  });

  it('--detach --pid-file: the process runs in the container and its pid is written', async () => {
    const { id, pid, b } = await running();
    const pidFile = join(b.dir, 'exec.pid');
    const r = await tsrun(['exec', '--detach', '--pid-file', pidFile, id, '/bin/sleep', '1000']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const epid = Number(readFileSync(pidFile, 'utf8').trim());
    expect(epid).toBeGreaterThan(0);
    expect(pidAlive(epid)).toBe(true);
    expect(nsOf(epid, 'pid')).toBe(nsOf(pid, 'pid'));
    expect(readFileSync(`/proc/${epid}/cmdline`, 'utf8')).toBe('/bin/sleep\u00001000\u0000');
  });

  it('holds only fds 0-2 and no ignored or blocked signals, even when tsrun inherited more fds', async () => {
    const { id } = await running();
    const extra = openSync('/tmp', 'r');
    try {
      const r = parseProbe(await tsrun(['exec', id, '/bin/probe'], { extraFds: [extra, extra] }));
      expect(Object.keys(r.fds).sort()).toEqual(['0', '1', '2']);
      expect(r.sigIgn).toBe('0000000000000000');
      expect(r.sigBlk).toBe('0000000000000000');
    } finally {
      closeSync(extra);
    }
  });

  it('gets the container\'s capabilities; --cap adds to bounding/permitted/effective, never inheritable or ambient (CVE-2022-29162)', async () => {
    const caps = { bounding: ['CAP_KILL', 'CAP_CHOWN'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'], inheritable: [], ambient: [] };
    const { id } = await running((b) => {
      b.config.process.capabilities = caps;
      b.config.process.noNewPrivileges = true;
    });
    const plain = parseProbe(await tsrun(['exec', id, '/bin/probe']));
    expect(plain.caps.bounding).toBe(capMask(caps.bounding));
    expect(plain.caps.effective).toBe(capMask(['CAP_KILL']));
    const withCap = parseProbe(await tsrun(['exec', '--cap', 'CAP_NET_RAW', id, '/bin/probe']));
    expect(withCap.caps.bounding).toBe(capMask([...caps.bounding, 'CAP_NET_RAW']));
    expect(withCap.caps.effective).toBe(capMask(['CAP_KILL', 'CAP_NET_RAW']));
    expect(withCap.caps.inheritable).toBe('0000000000000000');
    expect(withCap.caps.ambient).toBe('0000000000000000');
  });

  it('exec into a stopped container fails and starts nothing', async () => {
    const { id, pid } = await running();
    expect((await tsrun(['kill', id, 'KILL'])).code).toBe(0);
    expect(await waitFor(() => !pidAlive(pid), 5000)).toBe(true);
    const r = await tsrun(['exec', id, '/bin/true']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/stopped|not running/);
  });

  it('a missing executable gets runc\'s wording (docker maps it to exit 127)', async () => {
    const { id } = await running();
    const r = await tsrun(['exec', id, '/nope']);
    expect(r.code).not.toBe(0);
    // The text log quotes msg, escaping the inner quotes.
    expect(r.stderr.replace(/\\"/g, '"')).toContain('exec: "/nope": stat /nope: no such file or directory');
  });
});
