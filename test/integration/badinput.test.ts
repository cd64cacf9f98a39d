// Bad input of every kind (SECURITY.md, last paragraph): each gets a clear error naming the field,
// file or flag, and leaves no state dir, mount, process or cgroup behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CGROUP_PARENT, containerState, installCleanup, makeBundle, newId, pidAlive, skipNote, skipReason, testRoot, tsrun, waitFor,
  type Bundle, type OciConfig,
} from '../../conformance/lib/index.js';
import { leftovers, ok } from './ops-lib.js';

installCleanup();

/** A field named in an error, as a JSON pointer (/process/args) or dotted (process.args). */
function fieldPattern(...segments: string[]): RegExp {
  return new RegExp(segments.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[./\\[\\]]+'));
}

type Mutation = [what: string, mutate: (c: OciConfig) => void, names: RegExp];

const CONFIG_CASES: Mutation[] = [
  ['process.args is a string', (c) => ((c.process as unknown as Record<string, unknown>).args = 'sh'), fieldPattern('process', 'args')],
  ['process.args is empty', (c) => (c.process.args = []), fieldPattern('process', 'args')],
  ['process.cwd is relative', (c) => (c.process.cwd = 'tmp'), fieldPattern('process', 'cwd')],
  ['process.user.uid is a string', (c) => ((c.process.user as Record<string, unknown>).uid = '0'), fieldPattern('user', 'uid')],
  ['process.user.uid is negative', (c) => (c.process.user.uid = -1), fieldPattern('user', 'uid')],
  ['process.env holds a number', (c) => ((c.process as Record<string, unknown>).env = [1]), fieldPattern('process', 'env')],
  ['process.rlimits has an unknown type', (c) => (c.process.rlimits = [{ type: 'RLIMIT_BOGUS', soft: 1, hard: 1 }]), /RLIMIT_BOGUS|rlimits/],
  ['ociVersion is missing', (c) => delete (c as Record<string, unknown>).ociVersion, /ociVersion/],
  ['ociVersion is not SemVer', (c) => (c.ociVersion = 'one'), /ociVersion/],
  ['root is missing', (c) => delete (c as Record<string, unknown>).root, /root/],
  ['root.path is a number', (c) => ((c.root as Record<string, unknown>).path = 42), fieldPattern('root', 'path')],
  ['hostname is a number', (c) => ((c as Record<string, unknown>).hostname = 5), /hostname/],
  ['a mount destination is a number', (c) => ((c.mounts[0] as Record<string, unknown>).destination = 7), /mounts.*destination|destination/],
  ['a namespace type is unknown', (c) => c.linux.namespaces!.push({ type: 'bogus' }), /namespaces/],
  ['a namespace is listed twice', (c) => c.linux.namespaces!.push({ type: 'pid' }), /namespaces/],
  ['a sysctl value is a number', (c) => (c.linux.sysctl = { 'kernel.msgmax': 5 as unknown as string }), /sysctl/],
  ['a device type is unknown', (c) => (c.linux.devices = [{ path: '/dev/x', type: 'q', major: 1, minor: 1 }]), /devices/],
  ['a hook path is a number', (c) => (c.hooks = { prestart: [{ path: 3 }] }), /hooks.*prestart|prestart/],
  ['an argument holds a NUL byte (it would run cut short)', (c) => (c.process.args = ['/bin/echo', 'x\0y']), /\/process\/args\/1: must not contain a NUL byte/],
  ['a masked path holds a NUL byte (it would mask a shorter path)', (c) => (c.linux.maskedPaths = ['/proc/kcore\0x']), /\/linux\/maskedPaths\/0: must not contain a NUL byte/],
  ['linux.cgroupsPath holds a newline (no cgroup name may)', (c) => (c.linux.cgroupsPath = `${c.linux.cgroupsPath}/a\nb`), /\/linux\/cgroupsPath: .* contains a newline/],
];

/** The error text with the text log format's quoting undone (msg="exec: \\"/x\\": ..."). */
function unquoted(stderr: string): string {
  return stderr.replace(/\\(["\\])/g, '$1');
}

/** Runs `create` against the bundle as it is and checks for an error naming `names`, then no trace. */
async function expectRefused(b: Bundle | { dir: string }, names: RegExp, id = newId('bad')): Promise<void> {
  const r = await tsrun(['create', '--bundle', b.dir, id], { cwd: '/' });
  expect(r.code).not.toBe(0);
  expect(unquoted(r.stderr)).toMatch(names);
  expect(r.stderr.length).toBeLessThan(4000);
  expect((await tsrun(['state', id])).code).not.toBe(0);
  expect(leftovers({ id, bundle: b.dir })).toEqual([]);
}

/** What the state root holds: an id that is not refused would add a directory to it. */
function rootEntries(): string[] {
  const root = testRoot();
  return existsSync(root) ? readdirSync(root).sort() : [];
}

const helpers: ChildProcess[] = [];
afterAll(() => {
  for (const h of helpers) h.kill('SIGKILL');
});

describe.skipIf(!!skipReason)(`bad input${skipNote}`, () => {
  describe('config.json fields with a wrong type or value are named in the error', () => {
    for (const [what, mutate, names] of CONFIG_CASES) {
      it(what, async () => {
        const b = await makeBundle({ args: ['/bin/true'] });
        mutate(b.config);
        b.write();
        await expectRefused(b, names);
      });
    }

    it('a cgroup level that cannot be made (a control file\'s name) is named, and the levels made above it go again', async () => {
      const b = await makeBundle({ args: ['/bin/true'] });
      const id = newId('bad');
      // Every cgroup directory the kernel makes holds a cgroup.procs file, so the last level
      // fails with EEXIST after <id> and <id>/deeper were made; cgroupsNamed(id) in leftovers()
      // finds <id> if it stays.
      b.config.linux.cgroupsPath = `/${CGROUP_PARENT}/${id}/deeper/cgroup.procs`;
      b.write();
      await expectRefused(b, /creating cgroup \/sys\/fs\/cgroup\/.*\/deeper\/cgroup\.procs: EEXIST/, id);
    });

    it('config.json that is not JSON (truncated) is named', async () => {
      const b = await makeBundle({ args: ['/bin/true'] });
      const text = readFileSync(join(b.dir, 'config.json'), 'utf8');
      writeFileSync(join(b.dir, 'config.json'), text.slice(0, text.length / 2));
      await expectRefused(b, /config\.json/);
    });
  });

  describe('container IDs that could escape the state root or break the store', () => {
    const ids: [string, string][] = [
      ['with a slash', 'a/b'],
      ['"..', '..'],
      ['"."', '.'],
      ['climbing out', '../../etc/tsrun-escape'],
      // NUL cannot be passed in argv at all (execve ends the string there): newline and other
      // control characters are the closest a caller can send.
      ['with a newline', 'bad\nid'],
      ['with a control character', 'bad\x01id'],
      ['empty', ''],
      ['over 1024 bytes', 'x'.repeat(1025)],
    ];
    for (const [what, id] of ids) {
      it(`create refuses an id ${what}`, async () => {
        const b = await makeBundle({ args: ['/bin/true'] });
        const rootBefore = rootEntries();
        const r = await tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir });
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/id/i);
        expect(rootEntries()).toEqual(rootBefore);
        expect(leftovers({ id: 'tsrun-escape', bundle: b.dir })).toEqual([]);
        expect(() => readFileSync('/etc/tsrun-escape')).toThrow();
        for (const cmd of [['state', id], ['start', id], ['kill', id, 'KILL'], ['delete', id]]) {
          const o = await tsrun(cmd);
          expect({ cmd: cmd[0], code: o.code === 0 }).toEqual({ cmd: cmd[0], code: false });
        }
      });
    }

    it('a long id (250 bytes) is accepted', async () => {
      const b = await makeBundle({ args: ['/bin/true'] });
      const id = 'y'.repeat(250);
      const r = await tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      await ok(tsrun(['delete', '--force', id]));
      expect(leftovers({ id, bundle: b.dir })).toEqual([]);
    });

    it('an id longer than a file name (1000 bytes) works or fails cleanly, leaving nothing', async () => {
      const b = await makeBundle({ args: ['/bin/true'] });
      const id = 'z'.repeat(1000);
      const r = await tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir });
      if (r.code !== 0) expect(r.stderr).not.toMatch(/\n\s+at /);
      await tsrun(['delete', '--force', id]);
      expect(leftovers({ id, bundle: b.dir })).toEqual([]);
    });
  });

  describe('missing or unreadable bundles', () => {
    it('a bundle directory that does not exist is named', async () => {
      const b = await makeBundle({ args: ['/bin/true'] });
      await expectRefused({ dir: join(b.dir, 'nope') }, /nope/);
    });

    it('a bundle without config.json names config.json', async () => {
      const b = await makeBundle({ args: ['/bin/true'] });
      rmSync(join(b.dir, 'config.json'));
      await expectRefused(b, /config\.json/);
    });

    it('a config.json that cannot be read (a directory) is named', async () => {
      // Root reads files whatever their mode, so a directory stands in for an unreadable file.
      const b = await makeBundle({ args: ['/bin/true'] });
      rmSync(join(b.dir, 'config.json'));
      mkdirSync(join(b.dir, 'config.json'));
      await expectRefused(b, /config\.json/);
    });

    it('a config.json that is a dangling symlink is named', async () => {
      const b = await makeBundle({ args: ['/bin/true'] });
      rmSync(join(b.dir, 'config.json'));
      symlinkSync('/nonexistent-tsrun-config', join(b.dir, 'config.json'));
      await expectRefused(b, /config\.json/);
    });

    it('a bundle path that is a file is refused', async () => {
      const b = await makeBundle({ args: ['/bin/true'] });
      await expectRefused({ dir: join(b.dir, 'config.json') }, /config\.json|not a directory/);
    });

    it('a missing rootfs is named', async () => {
      const b = await makeBundle({ args: ['/bin/true'] });
      b.config.root.path = 'no-such-rootfs';
      b.write();
      await expectRefused(b, /no-such-rootfs/);
    });

    it('a rootfs without read permission for others still works as root (no spurious refusal)', async () => {
      const b = await makeBundle({ args: ['/bin/true'] });
      chmodSync(b.dir, 0o700);
      b.write();
      const id = newId('bad');
      const r = await tsrun(['run', '--bundle', b.dir, id], { cwd: b.dir });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(leftovers({ id, bundle: b.dir })).toEqual([]);
    });
  });

  describe('missing executable: runc\'s exact wording (docker maps it to exit 127)', () => {
    it('an absolute path that does not exist', async () => {
      const b = await makeBundle({ args: ['/nosuch'] });
      await expectRefused(b, /exec: "\/nosuch": stat \/nosuch: no such file or directory/);
    });

    it('a name not found in $PATH', async () => {
      const b = await makeBundle({ args: ['nosuch'] });
      await expectRefused(b, /exec: "nosuch": executable file not found in \$PATH/);
    });

    it('through run, too', async () => {
      const b = await makeBundle({ args: ['/nosuch'] });
      b.write();
      const id = newId('bad');
      const r = await tsrun(['run', '--bundle', b.dir, id], { cwd: b.dir });
      expect(r.code).not.toBe(0);
      expect(unquoted(r.stderr)).toContain('exec: "/nosuch": stat /nosuch: no such file or directory');
      expect(leftovers({ id, bundle: b.dir })).toEqual([]);
    });
  });

  describe('damaged state', () => {
    it('a truncated state.json is named by state, and delete --force still removes the container', async () => {
      const b = await makeBundle({ args: ['/bin/true'] });
      const id = newId('bad');
      await ok(tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir }));
      const pid = (await containerState(id)).pid!;
      const file = join(testRoot(), id, 'state.json');
      const text = readFileSync(file, 'utf8');
      writeFileSync(file, text.slice(0, text.length / 2));
      const st = await tsrun(['state', id]);
      expect(st.code).not.toBe(0);
      expect(st.stderr).toMatch(/state\.json/);
      const list = await tsrun(['list']);
      expect(list.stderr + list.stdout).not.toMatch(/SyntaxError|at .*\.m?js:\d+/);
      // With the pid unreadable tsrun cannot know what to kill: the test does it (its own container).
      process.kill(pid, 'SIGKILL');
      expect(await waitFor(() => !pidAlive(pid), 3000)).toBe(true);
      const d = await tsrun(['delete', '--force', id]);
      expect(d.code).toBe(0);
      expect(leftovers({ id, bundle: b.dir })).toEqual([]);
    });

    it('a state directory without its lock file: delete names the id; delete --force removes it (as runc)', async () => {
      const id = newId('bad');
      const dir = join(testRoot(), id);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'state.json'), '{"half":');
      const d = await tsrun(['delete', id]);
      expect(d.code).toBe(1);
      expect(d.stderr).toContain('container does not exist');
      expect(existsSync(dir)).toBe(true);
      await ok(tsrun(['delete', '--force', id]));
      expect(existsSync(dir)).toBe(false);
    });

    it('a dead init pid reads as stopped and delete removes everything', async () => {
      const b = await makeBundle({ args: ['/bin/true'] });
      const id = newId('bad');
      await ok(tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir }));
      const pid = (await containerState(id)).pid!;
      process.kill(pid, 'SIGKILL');
      expect(await waitFor(() => !pidAlive(pid), 3000)).toBe(true);
      expect((await containerState(id)).status).toBe('stopped');
      expect((await tsrun(['kill', id, 'KILL'])).code).not.toBe(0);
      await ok(tsrun(['delete', id]));
      expect(leftovers({ id, bundle: b.dir })).toEqual([]);
    });

    it('a pid reused by an unrelated process is not taken for the container, nor signalled', async () => {
      const b = await makeBundle({ args: ['/bin/true'] });
      const id = newId('bad');
      await ok(tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir }));
      const pid = (await containerState(id)).pid!;
      process.kill(pid, 'SIGKILL');
      expect(await waitFor(() => !pidAlive(pid), 3000)).toBe(true);
      // Stand in for pid reuse: point the state at a live host process with another start time.
      const bystander = spawn('sleep', ['100'], { stdio: 'ignore' });
      helpers.push(bystander);
      const file = join(testRoot(), id, 'state.json');
      const state = JSON.parse(readFileSync(file, 'utf8')) as { pid: number };
      state.pid = bystander.pid!;
      writeFileSync(file, JSON.stringify(state));
      expect((await containerState(id)).status).toBe('stopped');
      await tsrun(['kill', id, 'KILL']);
      await tsrun(['delete', '--force', id]);
      expect(pidAlive(bystander.pid!)).toBe(true);
      expect(leftovers({ id, bundle: b.dir })).toEqual([]);
      bystander.kill('SIGKILL');
    });
  });

  describe('command line', () => {
    it('an unknown flag is named and nothing is created', async () => {
      const b = await makeBundle({ args: ['/bin/true'] });
      const id = newId('bad');
      const r = await tsrun(['create', '--bundel', b.dir, id], { cwd: b.dir });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('bundel');
      expect(leftovers({ id, bundle: b.dir })).toEqual([]);
    });

    it('an unknown signal is named by kill and the container keeps running', async () => {
      const b = await makeBundle({ args: ['/bin/sleep', '100'] });
      const id = newId('bad');
      await ok(tsrun(['run', '-d', '--bundle', b.dir, id], { cwd: b.dir }));
      const k = await tsrun(['kill', id, 'SIGBOGUS']);
      expect(k.code).not.toBe(0);
      expect(k.stderr).toMatch(/BOGUS/);
      expect((await containerState(id)).status).toBe('running');
      await ok(tsrun(['delete', '--force', id]));
      expect(leftovers({ id, bundle: b.dir })).toEqual([]);
    });
  });
});
