// `tsrun exec` beyond the black-box conformance suite: created containers, user namespaces,
// seccomp and rlimits of the config, signal forwarding, preserved fds, cgroup placement and the
// failure paths. Real containers, checked from inside with the probe.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  containerState, installCleanup, makeBundle, newId, onCleanup, parseProbe, pidAlive, skipNote, skipReason, testRoot, trackDir,
  tsrun, tsrunBin, waitFor, type Bundle,
} from '../../conformance/lib/index.js';
import { consoleReceiver } from '../../conformance/lib/console.js';
import { findCommand } from '../../src/cli/commands.js';

installCleanup();

async function started(edit?: (b: Bundle) => void, start = true): Promise<{ id: string; pid: number; b: Bundle }> {
  const b = await makeBundle({ args: ['/bin/sleep', '1000'] });
  edit?.(b);
  b.write();
  const id = newId('exec');
  const c = await tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir });
  expect(c.stderr).toBe('');
  expect(c.code).toBe(0);
  if (start) expect((await tsrun(['start', id])).code).toBe(0);
  const st = await containerState(id);
  return { id, pid: st.pid!, b };
}

const nsOf = (pid: number, name: string): number => statSync(`/proc/${pid}/ns/${name}`).ino;
const cgroupOf = (pid: number): string => readFileSync(`/proc/${pid}/cgroup`, 'utf8');
const pauseImplemented = !findCommand('pause')?.notImplemented;
const userNsWorks = existsSync('/proc/self/ns/user') && readFileSync('/proc/sys/user/max_user_namespaces', 'utf8').trim() !== '0';

describe.skipIf(!!skipReason)(`exec (integration)${skipNote}`, () => {
  it('works on a created container, whose init keeps waiting for start', async () => {
    const { id, pid } = await started(undefined, false);
    const r = parseProbe(await tsrun(['exec', id, '/bin/probe']));
    expect(r.ns.pid).toBe(nsOf(pid, 'pid'));
    expect(r.ns.mnt).toBe(nsOf(pid, 'mnt'));
    expect((await containerState(id)).status).toBe('created');
  });

  it('the container keeps running after the exec\'d process exits, and exec leaves no process behind', async () => {
    const { id, pid } = await started();
    const pidFile = join(testRoot(), `${id}.pid`);
    expect((await tsrun(['exec', '--pid-file', pidFile, id, '/bin/true'])).code).toBe(0);
    const epid = Number(readFileSync(pidFile, 'utf8'));
    expect(await waitFor(() => !pidAlive(epid), 3000)).toBe(true);
    expect((await containerState(id)).status).toBe('running');
    expect(pidAlive(pid)).toBe(true);
  });

  it.skipIf(!userNsWorks)(`joins the container's user namespace and is its root${userNsWorks ? '' : ' (skipped: no user namespaces)'}`, async () => {
    const { id, pid } = await started((b) => {
      (b.config.linux.namespaces ??= []).push({ type: 'user' });
      b.config.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      b.config.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    });
    const pidFile = join(testRoot(), `${id}.pid`);
    const r = parseProbe(await tsrun(['exec', '--pid-file', pidFile, id, '/bin/probe']));
    expect(r.ns.user).toBe(nsOf(pid, 'user'));
    expect(r.ns.user).not.toBe(nsOf(process.pid, 'user'));
    expect(r.uid.effective).toBe(0);
    // Seen from the host, uid 0 of the container is host uid 100000 (the mapping).
    const epid = Number(readFileSync(pidFile, 'utf8'));
    expect(epid).toBeGreaterThan(0);
    const u = parseProbe(await tsrun(['exec', '--user', '1000:1000', id, '/bin/probe']));
    expect(u.uid.effective).toBe(1000);
  });

  it('gets the config\'s seccomp filter and rlimits, not tsrun\'s', async () => {
    const { id } = await started((b) => {
      b.config.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 123, hard: 456 }];
      (b.config.linux as Record<string, unknown>).seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
      };
    });
    const r = parseProbe(await tsrun(['exec', id, '/bin/probe']));
    expect(r.seccomp).toBe(2);
    expect(r.rlimits.RLIMIT_NOFILE).toEqual({ soft: '123', hard: '456' });
    const m = await tsrun(['exec', id, '/bin/mkdir', '/tmp/x']);
    expect(m.code).not.toBe(0);
    expect(m.stderr).toMatch(/not permitted/i);
  });

  it('joins the container\'s time namespace: its clock offsets apply', async () => {
    const { id, pid } = await started((b) => {
      (b.config.linux.namespaces ??= []).push({ type: 'time' });
      (b.config.linux as Record<string, unknown>).timeOffsets = { monotonic: { secs: 86400, nanosecs: 0 } };
    });
    const before = Number(process.hrtime.bigint()) / 1e9;
    const r = parseProbe(await tsrun(['exec', id, '/bin/probe']));
    expect(r.ns.time).toBe(nsOf(pid, 'time'));
    expect(r.clock.monotonic - before).toBeGreaterThan(86400 - 1);
    expect(r.clock.monotonic - before).toBeLessThan(86400 + 20);
  });

  it.skipIf(!pauseImplemented)(`a paused container refuses exec${pauseImplemented ? '' : ' (skipped: pause not implemented yet)'}`, async () => {
    const { id } = await started();
    const p = await tsrun(['pause', id]);
    expect(p.stderr).toBe('');
    expect(p.code).toBe(0);
    try {
      const r = await tsrun(['exec', id, '/bin/true']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('cannot exec in a paused container');
    } finally {
      await tsrun(['resume', id]);
    }
  });

  it('a seccomp NOTIFY listener gets the exec\'d process\'s own notify fd and the container state', async () => {
    const dir = trackDir(mkdtempSync('/tmp/tsrun-conf-exec-agent-'));
    const agent = join(dir, 'seccomp-agent');
    execFileSync('cc', ['-O2', '-o', agent, join(import.meta.dirname, '..', 'fixtures', 'seccomp-agent.c')]);
    const sock = join(dir, 'agent.sock');
    const startAgent = (out: string, errno: string): void => {
      const proc: ChildProcess = spawn(agent, [sock, out, errno], { stdio: ['ignore', 'ignore', 'inherit'] });
      onCleanup(() => void proc.kill('SIGKILL'));
    };
    // The init's filter goes to a first agent (EIO), the exec'd process's to a second (ENOMEDIUM).
    startAgent(join(dir, 'init.json'), '5');
    expect(await waitFor(() => existsSync(sock), 5000)).toBe(true);
    const { id, b } = await started((bb) => {
      bb.config.process.noNewPrivileges = true;
      (bb.config.linux as Record<string, unknown>).seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW', listenerPath: sock, listenerMetadata: 'm',
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
      };
    });
    expect(await waitFor(() => existsSync(join(dir, 'init.json')), 5000)).toBe(true);
    rmSync(sock);
    startAgent(join(dir, 'exec.json'), '123');
    expect(await waitFor(() => existsSync(sock), 5000)).toBe(true);
    const r = await tsrun(['exec', id, '/bin/sh', '-c', 'mkdir /tmp/x; echo rc=$?']);
    expect(r.stderr).toContain('No medium found');
    expect(r.stdout).toBe('rc=1\n');
    const st = JSON.parse(readFileSync(join(dir, 'exec.json'), 'utf8')) as { fds: string[]; metadata: string; state: Record<string, unknown> };
    expect(st).toMatchObject({ fds: ['seccompFd'], metadata: 'm' });
    expect(st.state).toMatchObject({ id, bundle: b.dir, status: 'running' });
  });

  it('exec -t -d --console-socket: the pty master goes to the socket, the process has it as its terminal', async () => {
    const { id } = await started();
    const rec = await consoleReceiver();
    const r = await tsrun(['exec', '-t', '-d', '--console-socket', rec.socketPath, id, '/bin/sh', '-c', 'tty; echo in-exec']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = await rec.done;
    expect(out.output).toMatch(/^\/dev\/pts\/\d+\nin-exec\n/);
  });

  it('exec -t in the foreground proxies the pty to tsrun\'s stdio and returns the status', async () => {
    const { id } = await started();
    const r = await tsrun(['exec', '-t', id, '/bin/sh', '-c', 'tty; echo hi; exit 3']);
    expect(r.code).toBe(3);
    expect(r.stdout.replace(/\r\n/g, '\n')).toMatch(/^\/dev\/pts\/\d+\nhi\n/);
  });

  it('terminal flags are refused as runc refuses them', async () => {
    const { id } = await started();
    const a = await tsrun(['exec', '-t', '-d', id, '/bin/sh']);
    expect(a.code).not.toBe(0);
    expect(a.stderr).toContain('cannot allocate tty if runc will detach without setting console socket');
    const b = await tsrun(['exec', '--console-socket', '/nonexistent.sock', id, '/bin/true']);
    expect(b.code).not.toBe(0);
    expect(b.stderr).toContain('cannot use console socket if runc will not detach or allocate tty');
  });

  const clientDir = join(import.meta.dirname, '..', '..', '..', 'shared', 'reference', 'client-configs');
  const clients = existsSync(clientDir) ? ['containerd-ctr-run.json', 'docker-run.json', 'podman-run.json'] : [];
  it.skipIf(clients.length === 0)(`--process with the process objects real clients send${clients.length ? '' : ' (skipped: no shared/reference/client-configs)'}`, async () => {
    const { id, b } = await started();
    for (const name of clients) {
      const proc = (JSON.parse(readFileSync(join(clientDir, name), 'utf8')) as { process: Record<string, unknown> }).process;
      const file = join(b.dir, `exec-${name}`);
      writeFileSync(file, JSON.stringify({ ...proc, terminal: false, args: ['/bin/sh', '-c', 'echo ok-$((1+1))'] }));
      const r = await tsrun(['exec', '--process', file, id]);
      expect(r.stderr, name).toBe('');
      expect(r.stdout, name).toBe('ok-2\n');
      expect(r.code, name).toBe(0);
    }
  });

  it('forwards signals to the foreground process and exits 128+N', async () => {
    const { id } = await started();
    const pidFile = join(testRoot(), `${id}.fg.pid`);
    const child = spawn(tsrunBin, ['--root', testRoot(), 'exec', '--pid-file', pidFile, id, '/bin/sleep', '100'], { stdio: 'ignore' });
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    expect(await waitFor(() => existsSync(pidFile), 10000)).toBe(true);
    const epid = Number(readFileSync(pidFile, 'utf8'));
    child.kill('SIGTERM');
    expect(await exited).toBe(128 + 15);
    expect(await waitFor(() => !pidAlive(epid), 3000)).toBe(true);
  });

  it('--preserve-fds hands fd 3 on, and only it', async () => {
    const { id } = await started();
    const extra = openSync('/dev/null', 'r');
    try {
      const r = parseProbe(await tsrun(['exec', '--preserve-fds', '1', id, '/bin/probe'], { extraFds: [extra, extra] }));
      expect(Object.keys(r.fds).sort()).toEqual(['0', '1', '2', '3']);
      expect(r.fds['3']).toBe('/dev/null');
    } finally {
      closeSync(extra);
    }
  });

  it('runs in the cgroup of the container\'s init', async () => {
    const { id, pid, b } = await started();
    const pidFile = join(b.dir, 'exec.pid');
    expect((await tsrun(['exec', '-d', '--pid-file', pidFile, id, '/bin/sleep', '1000'])).code).toBe(0);
    const epid = Number(readFileSync(pidFile, 'utf8'));
    expect(cgroupOf(epid)).toBe(cgroupOf(pid));
  });

  it('--cgroup puts the process in an existing sub-cgroup of the container', async () => {
    const { id } = await started();
    const state = JSON.parse(readFileSync(join(testRoot(), id, 'state.json'), 'utf8')) as { cgroup?: { paths: Record<string, string> } };
    expect(state.cgroup).toBeDefined();
    const subs = Object.values(state.cgroup!.paths).map((d) => join(d, 'exec-sub'));
    for (const d of subs) {
      mkdirSync(d);
      // v1 cpuset: a new cgroup has no cpus or mems until given its parent's (else ENOSPC).
      for (const f of ['cpuset.cpus', 'cpuset.mems']) {
        if (existsSync(join(d, f))) writeFileSync(join(d, f), readFileSync(join(d, '..', f), 'utf8'));
      }
    }
    let epid = 0;
    try {
      const pidFile = join(testRoot(), `${id}.sub.pid`);
      const r = await tsrun(['exec', '-d', '--pid-file', pidFile, '--cgroup', 'exec-sub', id, '/bin/sleep', '1000']);
      expect(r.stderr).toBe('');
      epid = Number(readFileSync(pidFile, 'utf8'));
      for (const line of cgroupOf(epid).trim().split('\n').filter((l) => !l.includes('name=systemd'))) expect(line).toMatch(/\/exec-sub$/);
      const bad = await tsrun(['exec', '--cgroup', '../escape', id, '/bin/true']);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain('--cgroup: invalid sub-cgroup');
    } finally {
      if (epid > 0) {
        process.kill(epid, 'SIGKILL');
        await waitFor(() => !pidAlive(epid), 3000);
      }
      // The sub-cgroups are this test's: removed before the container's own cgroup is.
      for (const d of subs) await waitFor(() => { try { rmdirSync(d); return true; } catch { return false; } }, 3000);
    }
  });

  it('a bad process.json is refused naming the field, and nothing starts', async () => {
    const { id, b } = await started();
    const file = join(b.dir, 'process.json');
    writeFileSync(file, JSON.stringify({ args: ['/bin/true'], cwd: 'relative' }));
    const r = await tsrun(['exec', '--process', file, id]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('process.json');
    expect(r.stderr).toContain('/cwd');
    const missing = await tsrun(['exec', '--process', join(b.dir, 'nope.json'), id]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('nope.json');
  });

  it('exec without a command, into a missing container, or with a non-numeric --user refuses cleanly', async () => {
    const { id } = await started();
    const noCmd = await tsrun(['exec', id]);
    expect(noCmd.code).not.toBe(0);
    expect(noCmd.stderr).toMatch(/command/);
    const gone = await tsrun(['exec', 'no-such-container', '/bin/true']);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain('container does not exist');
    const badUser = await tsrun(['exec', '--user', 'root', id, '/bin/true']);
    expect(badUser.code).not.toBe(0);
    expect(badUser.stderr).toContain('parsing root as int for uid failed');
  });
});
