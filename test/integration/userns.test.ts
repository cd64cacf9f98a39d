// User namespaces as the root caller: maps seen from inside, ownership seen from the host,
// capabilities, devices bound from the host, /sys without a network namespace, sysctl, joined user
// namespaces and idmapped mounts. Real containers, checked from inside and from the host.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  capMask, check, installCleanup, makeBundle, mountAt, newId, onCleanup, parseMountinfo, probe, runContainer, skipNote, skipReason,
  trackDir, tsrun, tsrunBin, waitFor, type Bundle,
} from '../../conformance/lib/index.js';

installCleanup();

const HOST_BASE = 100000;
const MAP = [{ containerID: 0, hostID: HOST_BASE, size: 65536 }];

async function usernsBundle(opts: { net?: boolean; args?: string[] } = {}): Promise<Bundle> {
  const b = await makeBundle({ args: opts.args, readonlyRoot: false });
  const types = ['user', 'mount', 'pid', 'ipc', 'uts', ...(opts.net === false ? [] : ['network'])];
  b.config.linux.namespaces = types.map((type) => ({ type }));
  b.config.linux.uidMappings = MAP;
  b.config.linux.gidMappings = MAP;
  b.write();
  return b;
}

/** Runs sh -c script in the bundle; returns stdout, failing with tsrun's stderr when it fails. */
async function sh(b: Bundle, script: string): Promise<string> {
  b.config.process.args = ['/bin/sh', '-c', script];
  const r = await runContainer(b);
  if (r.code !== 0) throw new Error(`container failed (code ${r.code}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** `unshare --user` holder with its own mapping; returns its pid (killed at cleanup). */
async function userNsHolder(hostBase: number): Promise<number> {
  const child = spawn('unshare', ['--user', '--', 'sleep', '1000'], { stdio: 'ignore', detached: true });
  const pid = child.pid!;
  onCleanup(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  const ok = await waitFor(() => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep';
    } catch {
      return false;
    }
  }, 5000);
  if (!ok) throw new Error('user namespace holder did not start');
  // Root writes the maps itself (newuidmap is not needed for that).
  writeFileSync(`/proc/${pid}/uid_map`, `0 ${hostBase} 65536\n`);
  writeFileSync(`/proc/${pid}/gid_map`, `0 ${hostBase} 65536\n`);
  return pid;
}

describe.skipIf(!!skipReason)(`user namespaces${skipNote}`, () => {
  it('the mapping is seen from inside and the process is root there', async () => {
    const b = await usernsBundle();
    const r = await probe(b, ['--read', '/proc/self/uid_map', '--read', '/proc/self/gid_map']);
    expect(r.uid).toEqual({ real: 0, effective: 0, saved: 0 });
    expect(r.gid).toEqual({ real: 0, effective: 0, saved: 0 });
    expect(check(r, 'read', '/proc/self/uid_map').content?.trim().split(/\s+/)).toEqual(['0', String(HOST_BASE), '65536']);
    expect(check(r, 'read', '/proc/self/gid_map').content?.trim().split(/\s+/)).toEqual(['0', String(HOST_BASE), '65536']);
  });

  it('root inside is the mapped host uid outside (a file created inside, stat from the host)', async () => {
    const b = await usernsBundle();
    b.config.process.user = { uid: 1000, gid: 1000 };
    await sh(b, 'touch /tmp/by-tester && chmod 0644 /tmp/by-tester');
    const st = statSync(join(b.rootfs, 'tmp', 'by-tester'));
    expect([st.uid, st.gid]).toEqual([HOST_BASE + 1000, HOST_BASE + 1000]);
    b.config.process.user = { uid: 0, gid: 0 };
    await sh(b, 'touch /tmp/by-root');
    const root = statSync(join(b.rootfs, 'tmp', 'by-root'));
    expect([root.uid, root.gid]).toEqual([HOST_BASE, HOST_BASE]);
  });

  it('the configured capabilities are held inside (execve kept them: root of the namespace)', async () => {
    const b = await usernsBundle();
    const caps = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_ADMIN'];
    b.config.process.capabilities = { bounding: caps, effective: caps, permitted: caps };
    const r = await probe(b);
    expect(r.caps.effective).toBe(capMask(caps));
    expect(r.caps.permitted).toBe(capMask(caps));
    expect(r.caps.bounding).toBe(capMask(caps));
    // The capabilities act inside: chown to a mapped id succeeds (CAP_CHOWN in the namespace).
    const out = await sh(b, 'touch /tmp/c && chown 1000:1000 /tmp/c && stat -c %u:%g /tmp/c');
    expect(out.trim()).toBe('1000:1000');
    expect(statSync(join(b.rootfs, 'tmp', 'c')).uid).toBe(HOST_BASE + 1000);
  });

  it('devices are bind-mounted from the host and work (/dev/null, /dev/zero, /dev/urandom)', async () => {
    const b = await usernsBundle();
    const out = await sh(b, 'echo x > /dev/null && head -c 8 /dev/zero | wc -c && head -c 4 /dev/urandom | wc -c && cat /dev/null | wc -c');
    expect(out.trim().split(/\s+/)).toEqual(['8', '4', '0']);
    const r = await probe(b, ['--stat', '/dev/null']);
    const st = check(r, 'stat', '/dev/null').stat!;
    expect([st.type, st.rdev_major, st.rdev_minor]).toEqual(['char', 1, 3]);
    // mknod is not allowed in a user namespace: the node is the host's, bind-mounted.
    expect(mountAt(r, '/dev/null')).toBeDefined();
  });

  it('without a network namespace /sys is the host\'s sysfs bound read-only (a fresh sysfs is refused)', async () => {
    const b = await usernsBundle({ net: false });
    const r = await probe(b, ['--ls', '/sys/kernel', '--write', '/sys/kernel/uevent_helper']);
    const sys = mountAt(r, '/sys');
    expect(sys?.fstype).toBe('sysfs');
    expect(sys?.options).toContain('ro');
    expect(check(r, 'ls', '/sys/kernel').ok).toBe(true);
    expect(check(r, 'write', '/sys/kernel/uevent_helper').ok).toBe(false);
    // Submounts of the host's /sys are read-only too (attributes applied recursively).
    // (/sys/fs/cgroup is the config's own cgroup mount, made after the bind.)
    const subs = parseMountinfo(r.mountinfo).filter((m) => m.mountPoint.startsWith('/sys/') && !m.mountPoint.startsWith('/sys/fs/cgroup'));
    expect(subs.length).toBeGreaterThan(0);
    for (const m of subs) expect(m.options, m.mountPoint).toContain('ro');
  });

  it('sysctl in the container\'s own network namespace is written (owned by its user namespace)', async () => {
    const b = await usernsBundle();
    const hostValue = readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim();
    b.config.linux.sysctl = { 'net.ipv4.ip_unprivileged_port_start': '81' };
    const r = await probe(b, ['--read', '/proc/sys/net/ipv4/ip_unprivileged_port_start']);
    expect(check(r, 'read', '/proc/sys/net/ipv4/ip_unprivileged_port_start').content?.trim()).toBe('81');
    expect(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim()).toBe(hostValue);
  });

  it('a mapping without container id 0 fails naming the cause and leaves nothing behind', async () => {
    const b = await usernsBundle();
    b.config.linux.uidMappings = [{ containerID: 1, hostID: HOST_BASE, size: 1000 }];
    b.write();
    const id = newId('userns-bad');
    const r = await runContainer(b, id);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/setresuid|user namespace/);
    const list = await tsrun(['list', '-q']);
    expect(list.stdout.split('\n')).not.toContain(id);
  });

  it('joins an existing user namespace by path and is root there with its capabilities', async () => {
    const holder = await userNsHolder(200000);
    const b = await makeBundle({ readonlyRoot: false });
    b.config.linux.namespaces = [{ type: 'user', path: `/proc/${holder}/ns/user` }, { type: 'mount' }, { type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }];
    const caps = ['CAP_CHOWN', 'CAP_KILL'];
    b.config.process.capabilities = { bounding: caps, effective: caps, permitted: caps };
    const r = await probe(b, ['--read', '/proc/self/uid_map']);
    expect(r.uid.real).toBe(0);
    // pid 1 of a pid namespace the joined user namespace owns (its proc could be mounted).
    expect(r.pid).toBe(1);
    expect(r.ns.user).toBe(statSync(`/proc/${holder}/ns/user`).ino);
    expect(r.caps.effective).toBe(capMask(caps));
    expect(check(r, 'read', '/proc/self/uid_map').content?.trim().split(/\s+/)).toEqual(['0', '200000', '65536']);
  });

  it('an idmapped bind mount shows the mapped owner inside (mounts[].uidMappings)', async () => {
    const b = await usernsBundle();
    const data = join(b.dir, 'data');
    mkdirSync(data);
    // The rootfs belongs to host root, unmapped inside: the mount point must exist already.
    mkdirSync(join(b.rootfs, 'data'));
    // Owned by host uid/gid 1234: unmapped in the container's namespace unless the mount maps it.
    writeFileSync(join(data, 'f'), 'x');
    chownSync(join(data, 'f'), 1234, 1234);
    // runtime-spec config.md: the mapping converts ids of the source filesystem (containerID) to
    // those of the mount (hostID): host 1234 -> 100234, which is 234 in the container's namespace.
    const map = [{ containerID: 1000, hostID: HOST_BASE, size: 1000 }];
    b.config.mounts.push({ destination: '/data', type: 'bind', source: data, options: ['bind'], uidMappings: map, gidMappings: map });
    const out = await sh(b, 'stat -c %u:%g /data/f');
    expect(out.trim()).toBe('234:234');
  });

  it('the idmap mount option maps the mount with the container\'s own mapping', async () => {
    const b = await usernsBundle();
    const data = join(b.dir, 'shared');
    mkdirSync(data);
    mkdirSync(join(b.rootfs, 'shared'));
    writeFileSync(join(data, 'f'), 'x');
    // Host-side owner 7 (outside the container's range): with `idmap` it appears as container id 7.
    chownSync(join(data, 'f'), 7, 7);
    b.config.mounts.push({ destination: '/shared', type: 'bind', source: data, options: ['bind', 'idmap'] });
    const out = await sh(b, 'stat -c %u:%g /shared/f && touch /shared/new && stat -c %u:%g /shared/new');
    expect(out.trim().split('\n')).toEqual(['7:7', '0:0']);
    // Written through the mount as container root: owned by host uid 0 on disk.
    expect(statSync(join(data, 'new')).uid).toBe(0);
  });

  it('a read-only ridmap rbind keeps ro and the mapping', async () => {
    const b = await usernsBundle();
    const data = join(b.dir, 'ro');
    mkdirSync(data);
    mkdirSync(join(b.rootfs, 'ro'));
    writeFileSync(join(data, 'f'), 'x');
    b.config.mounts.push({ destination: '/ro', type: 'bind', source: data, options: ['rbind', 'ridmap', 'ro'] });
    const out = await sh(b, 'stat -c %u /ro/f; touch /ro/new 2>/dev/null && echo wrote || echo refused');
    expect(out.trim().split('\n')).toEqual(['0', 'refused']);
  });

  it('idmap on a mount that is not a bind is refused naming the mount, nothing left behind', async () => {
    const b = await usernsBundle();
    b.config.mounts.push({ destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['idmap'] });
    const id = newId('userns-idmap-bad');
    const r = await runContainer(b, id);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/mounts\/\d+.*bind mounts only/);
    expect((await tsrun(['list', '-q'])).stdout.split('\n')).not.toContain(id);
  });
});

// Rootless: an unprivileged user created for the test (removed afterwards) runs `tsrun spec
// --rootless` and `tsrun run` through setpriv, with its own XDG_RUNTIME_DIR.
const RL_USER = 'tsrun-rootless-test';
const hasTool = (t: string): boolean => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0;
const rootlessSkip = skipReason || (!hasTool('useradd') ? 'useradd missing' : !hasTool('setpriv') ? 'setpriv missing' : '');
const subidSkip = rootlessSkip || (!hasTool('newuidmap') || !hasTool('newgidmap') ? 'newuidmap/newgidmap missing (package uidmap)' : '');

interface RootlessUser {
  uid: number;
  gid: number;
  xdg: string;
}

function rootlessUser(): RootlessUser {
  const made = spawnSync('id', ['-u', RL_USER]).status !== 0;
  if (made) execFileSync('useradd', ['-M', '-s', '/bin/sh', RL_USER]);
  onCleanup(() => {
    if (made) spawnSync('userdel', [RL_USER]);
  });
  const uid = Number(execFileSync('id', ['-u', RL_USER], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', RL_USER], { encoding: 'utf8' }).trim());
  const xdg = trackDir(mkdtempSync('/tmp/tsrun-conf-rl-xdg-'));
  chownSync(xdg, uid, gid);
  return { uid, gid, xdg };
}

/** Runs tsrun as the user. `detached`: the container's init keeps tsrun's stdio (create), so no
 *  pipes that spawnSync would wait on. */
function asUser(u: RootlessUser, args: string[], cwd: string, detached = false): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('setpriv', [`--reuid=${u.uid}`, `--regid=${u.gid}`, '--init-groups', '--', tsrunBin, ...args], {
    cwd, encoding: 'utf8', timeout: 20000, stdio: detached ? 'ignore' : 'pipe', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', XDG_RUNTIME_DIR: u.xdg, HOME: u.xdg },
  });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** A bundle whose config.json the user wrote with `tsrun spec --rootless`. */
async function rootlessBundle(u: RootlessUser, args: string[]): Promise<Bundle> {
  const b = await makeBundle();
  rmSync(join(b.dir, 'config.json'));
  chownSync(b.dir, u.uid, u.gid);
  const spec = asUser(u, ['spec', '--rootless'], b.dir);
  if (spec.code !== 0) throw new Error(`spec --rootless failed: ${spec.stderr}`);
  b.config = JSON.parse(readFileSync(join(b.dir, 'config.json'), 'utf8')) as Bundle['config'];
  b.config.process.terminal = false;
  b.config.process.args = args;
  b.write();
  return b;
}

describe.skipIf(!!rootlessSkip)(`rootless${rootlessSkip ? ` (skipped: ${rootlessSkip})` : ''}`, () => {
  it('an unprivileged user runs spec --rootless then run end to end; state under $XDG_RUNTIME_DIR/tsrun', async () => {
    const u = rootlessUser();
    const b = await rootlessBundle(u, ['/bin/sh', '-c', 'id -u; cat /proc/self/uid_map']);
    expect(b.config.linux.uidMappings).toEqual([{ containerID: 0, hostID: u.uid, size: 1 }]);
    const id = newId('rootless');
    const r = asUser(u, ['run', id], b.dir);
    expect(r.code, r.stderr).toBe(0);
    const [who, ...map] = r.stdout.trim().split('\n');
    expect(who).toBe('0');
    expect(map.join(' ').trim().split(/\s+/)).toEqual(['0', String(u.uid), '1']);
    // No delegated cgroup here: skipped, and said so.
    expect(r.stderr).toMatch(/rootless: cgroup not created \(creating cgroup \/sys\/fs\/cgroup\/.*: EACCES/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(u.xdg, 'tsrun'))).toBe(true);
    expect(existsSync(join(u.xdg, 'tsrun', id))).toBe(false);
  });

  it('create, state, start, kill, delete as the unprivileged user', async () => {
    const u = rootlessUser();
    const b = await rootlessBundle(u, ['/bin/sleep', '30']);
    const id = newId('rootless-lc');
    expect(asUser(u, ['create', id], b.dir, true).code).toBe(0);
    expect(JSON.parse(asUser(u, ['state', id], b.dir).stdout).status).toBe('created');
    expect(asUser(u, ['start', id], b.dir).code).toBe(0);
    const st = JSON.parse(asUser(u, ['state', id], b.dir).stdout) as { status: string; pid: number };
    expect(st.status).toBe('running');
    // The init runs as the user on the host.
    expect(statSync(`/proc/${st.pid}`).uid).toBe(u.uid);
    expect(asUser(u, ['kill', id, 'KILL'], b.dir).code).toBe(0);
    expect(await waitFor(() => JSON.parse(asUser(u, ['state', id], b.dir).stdout).status === 'stopped', 5000)).toBe(true);
    expect(asUser(u, ['delete', id], b.dir).code).toBe(0);
    expect(existsSync(join(u.xdg, 'tsrun', id))).toBe(false);
  });

  it.skipIf(!!subidSkip)(`a mapping beyond the user's own id goes through newuidmap/newgidmap (/etc/subuid)${subidSkip ? ` (skipped: ${subidSkip})` : ''}`, async () => {
    const u = rootlessUser();
    const sub = readFileSync('/etc/subuid', 'utf8').split('\n').find((l) => l.startsWith(`${RL_USER}:`));
    if (!sub) throw new Error(`no /etc/subuid entry for ${RL_USER} (useradd adds one)`);
    const start = Number(sub.split(':')[1]);
    const b = await rootlessBundle(u, ['/bin/sh', '-c', 'cat /proc/self/uid_map']);
    b.config.linux.uidMappings = [{ containerID: 0, hostID: u.uid, size: 1 }, { containerID: 1, hostID: start, size: 1000 }];
    b.config.linux.gidMappings = [{ containerID: 0, hostID: u.gid, size: 1 }, { containerID: 1, hostID: start, size: 1000 }];
    b.write();
    const r = asUser(u, ['run', newId('rootless-sub')], b.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/))).toEqual([['0', String(u.uid), '1'], ['1', String(start), '1000']]);
  });
});

