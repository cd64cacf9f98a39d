// process.terminal end to end through the binary: the foreground pty proxy of `tsrun run` (under
// script(1) or tmux, which give tsrun a terminal of its own), the /dev/console bind refusing a
// planted symlink (SECURITY.md #9, CVE-2025-52565), cleanup when setup fails after the pty was
// sent, and the fds runc passes on (LISTEN_FDS socket activation, --preserve-fds).
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { WriteStream } from 'node:tty';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  consoleReceiver, installCleanup, makeBundle, newId, onCleanup, skipName, skipNote, skipReason, testRoot, tsrun, tsrunBin,
  waitFor, type Bundle,
} from '../../conformance/lib/index.js';

installCleanup();

describe('addon calls of the pty proxy, on a real pty', () => {
  it('setWinsize sets what TIOCGWINSZ reads; dupFd is the same open file; ttyMakeRaw/ttyRestore round-trip', async () => {
    const { native } = await import('../../src/native/index.js');
    const nat = native();
    const master = openSync('/dev/ptmx', 'r+');
    const dup = nat.dupFd(master);
    try {
      nat.setWinsize(master, 12, 34);
      const ws = new WriteStream(dup);
      expect(ws.getWindowSize()).toEqual([34, 12]);
      expect(fstatSync(dup).ino).toBe(fstatSync(master).ino);
      expect(dup).not.toBe(master);
      const saved = nat.ttyMakeRaw(master);
      expect(saved.length).toBeGreaterThan(0);
      nat.ttyRestore(master, saved);
      expect(() => nat.ttyRestore(master, Buffer.alloc(3))).toThrow(TypeError);
      expect(() => nat.setWinsize(master, 70000, 1)).toThrow(/EINVAL/);
      ws.destroy();
    } finally {
      closeSync(master);
    }
    const notTty = openSync('/dev/null', 'r');
    expect(() => nat.ttyMakeRaw(notTty)).toThrow(/ENOTTY/);
    closeSync(notTty);
  });
});

const noScript = !existsSync('/usr/bin/script');
const noTmux = !existsSync('/usr/bin/tmux');
const noPython = !existsSync('/usr/bin/python3');

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** `tsrun run` inside script(1): tsrun's stdio is a pty of 40x100; `input` is typed after `delayMs`. */
function runUnderScript(b: Bundle, id: string, input: string, delayMs = 1500): Promise<{ out: string; raw: string; code: number | null }> {
  b.config.process.terminal = true;
  b.write();
  const cmd = `stty rows 40 cols 100; ${shq(tsrunBin)} --root ${shq(testRoot())} run --bundle ${shq(b.dir)} ${id}; echo "EXIT=$?"`;
  const child = spawn('/usr/bin/script', ['-qec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => child.stdin.write(input), delayMs);
  const kill = setTimeout(() => child.kill('SIGKILL'), 20000);
  return new Promise((resolve) => {
    child.on('exit', (code) => {
      clearTimeout(timer);
      clearTimeout(kill);
      resolve({ out: out.replace(/\r/g, ''), raw: out, code });
    });
  });
}

describe.skipIf(!!skipReason)(`terminal through the binary${skipNote}`, () => {
  it.skipIf(noScript)(skipName(noScript, 'run in the foreground proxies the pty: size, input, output, exit status', 'no script(1)'), async () => {
    const b = await makeBundle({ args: ['/bin/sh', '-c', 'stty size; tty; read x; echo "got:$x"; exit 3'], applets: ['stty', 'tty'] });
    const { out, raw } = await runUnderScript(b, newId(), 'hello-proxy\r');
    const lines = out.split('\n');
    // tsrun's own terminal size reached the container's pty (runc resizes at start too).
    expect(lines).toContain('40 100');
    expect(lines.some((l) => /^\/dev\/pts\/\d+$/.test(l))).toBe(true);
    expect(out).toContain('got:hello-proxy');
    expect(out).toContain('EXIT=3');
    // Raw output as runc: the container's "\r\n" is not translated a second time.
    expect(raw).toContain('got:hello-proxy\r\n');
    expect(raw.includes('\r\r\n')).toBe(false);
  });

  it.skipIf(noScript)(skipName(noScript, 'raw mode: ^C reaches the container as a byte, tsrun survives and reports its status', 'no script(1)'), async () => {
    const b = await makeBundle({ args: ['/bin/sh', '-c', 'trap "echo trapped-int; exit 7" INT; echo armed; while :; do sleep 0.1; done'] });
    const { out } = await runUnderScript(b, newId(), '\x03');
    expect(out).toContain('trapped-int');
    expect(out).toContain('EXIT=7');
  });

  it.skipIf(noTmux)(skipName(noTmux, 'window-size changes are forwarded (SIGWINCH -> TIOCSWINSZ)', 'no tmux'), async () => {
    const b = await makeBundle({ args: ['/bin/sh', '-c', 'trap "stty size" WINCH; echo armed; i=0; while [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done'], applets: ['stty'] });
    b.config.process.terminal = true;
    b.write();
    const sock = `tsrun-test-${process.pid}`;
    const tmux = (...a: string[]) => spawnSync('tmux', ['-L', sock, ...a], { encoding: 'utf8' });
    onCleanup(() => void tmux('kill-server'));
    const id = newId();
    const cmd = `${shq(tsrunBin)} --root ${shq(testRoot())} run --bundle ${shq(b.dir)} ${id}; sleep 5`;
    expect(tmux('new-session', '-d', '-x', '80', '-y', '24', cmd).status).toBe(0);
    const screen = () => tmux('capture-pane', '-p').stdout;
    expect(await waitFor(() => screen().includes('armed'), 10000)).toBe(true);
    tmux('resize-window', '-x', '132', '-y', '43');
    expect(await waitFor(() => screen().includes('43 132'), 10000)).toBe(true);
    await tsrun(['delete', '--force', id]);
  });

  it.skipIf(noPython)(skipName(noPython, 'a /dev/console planted as a symlink into procfs is refused, nothing is left (CVE-2025-52565)', 'no python3'), async () => {
    const b = await makeBundle();
    // /dev from the rootfs itself (no tmpfs over it), with the attacker's symlink in place.
    b.config.mounts = (b.config.mounts ?? []).filter((m) => m.destination !== '/dev');
    b.config.process.terminal = true;
    mkdirSync(join(b.rootfs, 'dev', 'pts'), { recursive: true });
    symlinkSync('/proc/sys/kernel/core_pattern', join(b.rootfs, 'dev', 'console'));
    b.write();
    const before = readFileSync('/proc/sys/kernel/core_pattern', 'utf8');
    const rx = await consoleReceiver();
    const id = newId();
    const r = await tsrun(['create', '--bundle', b.dir, '--console-socket', rx.socketPath, id]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/\/dev\/console/);
    expect((await tsrun(['state', id])).code).not.toBe(0);
    expect(readFileSync('/proc/sys/kernel/core_pattern', 'utf8')).toBe(before);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
    expect(mounts).not.toContain(b.rootfs);
  });

  it.skipIf(noPython)(skipName(noPython, 'a missing /dev/console is created before the root goes read-only, and is the pty', 'no python3'), async () => {
    const b = await makeBundle({ args: ['/bin/sh', '-c', 'ls -l /dev/console; tty'], readonlyRoot: true });
    b.config.mounts = (b.config.mounts ?? []).filter((m) => m.destination !== '/dev');
    b.config.process.terminal = true;
    mkdirSync(join(b.rootfs, 'dev', 'pts'), { recursive: true });
    b.write();
    const rx = await consoleReceiver();
    const id = newId();
    const r = await tsrun(['create', '--bundle', b.dir, '--console-socket', rx.socketPath, id]);
    expect(r.stderr).toBe('');
    expect((await tsrun(['start', id])).code).toBe(0);
    const { output } = await rx.done;
    await tsrun(['delete', '--force', id]);
    const [ls, tty] = output.trim().split('\n');
    // The bind shows the pty's own node: char device 136,N, the same N as the process's tty.
    expect(ls).toMatch(/^c.* 136, +(\d+) .*\/dev\/console$/);
    expect(tty).toBe(`/dev/pts/${/136, +(\d+)/.exec(ls!)![1]}`);
  });

  it.skipIf(noPython)(skipName(noPython, 'a failure after the pty was sent leaves no container', 'no python3'), async () => {
    const b = await makeBundle({ args: ['/no/such/binary'] });
    b.config.process.terminal = true;
    b.write();
    const rx = await consoleReceiver();
    const id = newId();
    const r = await tsrun(['create', '--bundle', b.dir, '--console-socket', rx.socketPath, id]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('/no/such/binary');
    expect((await tsrun(['state', id])).code).not.toBe(0);
  });

  it('an unreachable --console-socket fails before anything is created', async () => {
    const b = await makeBundle();
    b.config.process.terminal = true;
    b.write();
    const id = newId();
    const r = await tsrun(['create', '--bundle', b.dir, '--console-socket', '/nonexistent/console.sock', id]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--console-socket /nonexistent/console.sock');
    expect((await tsrun(['state', id])).code).not.toBe(0);
  });

  it('--console-socket without a terminal, or with a foreground run, is refused in runc\'s words', async () => {
    const b = await makeBundle();
    b.write();
    const r = await tsrun(['create', '--bundle', b.dir, '--console-socket', '/tmp/x.sock', newId()]);
    expect(r.stderr).toContain('cannot use console socket if runc will not detach or allocate tty');
    b.config.process.terminal = true;
    b.write();
    const f = await tsrun(['run', '--bundle', b.dir, '--console-socket', '/tmp/x.sock', newId()]);
    expect(f.stderr).toContain('cannot use console socket if runc will not detach or allocate tty');
  });
});

describe.skipIf(!!skipReason)(`fds passed to the container${skipNote}`, () => {
  const dir = join('/tmp', `tsrun-fds-${process.pid}`);
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));

  it('LISTEN_FDS for this pid: the activation fds come first, then --preserve-fds; LISTEN_FDS/LISTEN_PID=1 set', async () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'a'), 'listen-one\n');
    writeFileSync(join(dir, 'b'), 'preserved-two\n');
    const b = await makeBundle({ args: ['/bin/sh', '-c', 'echo "$LISTEN_FDS:$LISTEN_PID"; cat <&3; cat <&4; [ -e /proc/self/fd/5 ] && readlink /proc/self/fd/5 || echo no-fd-5'], applets: ['readlink'] });
    b.write();
    const id = newId();
    // LISTEN_PID must name tsrun itself: the shell exec()s the launcher, which exec()s node.
    const script = `export LISTEN_FDS=1 LISTEN_PID=$$; exec ${shq(tsrunBin)} --root ${shq(testRoot())} run --bundle ${shq(b.dir)} --preserve-fds 1 ${id} 3<${shq(join(dir, 'a'))} 4<${shq(join(dir, 'b'))}`;
    const r = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8', timeout: 20000 });
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('1:1');
    expect(lines[1]).toBe('listen-one');
    expect(lines[2]).toBe('preserved-two');
    expect(lines[3]).not.toMatch(/tsrun-fds/);
  });

  it('LISTEN_FDS meant for another pid is ignored (the fds are not passed)', async () => {
    const b = await makeBundle({ args: ['/bin/sh', '-c', 'echo "[$LISTEN_FDS]"; [ -e /proc/self/fd/3 ] && echo has-3 || echo no-3'] });
    b.write();
    const r = spawnSync('/bin/sh', ['-c', `export LISTEN_FDS=1 LISTEN_PID=1; exec ${shq(tsrunBin)} --root ${shq(testRoot())} run --bundle ${shq(b.dir)} ${newId()} 3</etc/hostname`], { encoding: 'utf8', timeout: 20000 });
    expect(r.stdout.trim().split('\n')).toEqual(['[]', 'no-3']);
  });

  it('--preserve-fds naming a closed fd fails with nothing left', async () => {
    const b = await makeBundle();
    b.write();
    const id = newId();
    const r = spawnSync('/bin/sh', ['-c', `exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-; exec ${shq(tsrunBin)} --root ${shq(testRoot())} create --bundle ${shq(b.dir)} --preserve-fds 40 ${id}`], { encoding: 'utf8', timeout: 20000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/unable to stat preserved-fd \d+ \(of 40\)/);
    expect((await tsrun(['state', id])).code).not.toBe(0);
  });
});
