// linux.netDevices (runtime-spec v1.3.0 config-linux.md "Network Devices") with real devices: veth
// pairs and ifb devices made here (names unique per run, removed afterwards), moved into real
// containers, looked at from inside, and from the host during and after the container's life.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  containerState, installCleanup, makeBundle, newId, skipNote, skipReason, testRoot, tsrun, waitFor, type Bundle,
} from '../../conformance/lib/index.js';
import { leftovers, ok } from './ops-lib.js';
import { native } from '../../src/native/index.js';

installCleanup();

const run = randomBytes(3).toString('hex');
let serial = 0;
/** A device name of this run: "tsrn" + 6 hex digits + a serial letter and suffix (<= 15 bytes). */
function devName(suffix = ''): string {
  return `tsrn${run}${String.fromCharCode(97 + serial++)}${suffix}`;
}

const made: string[] = [];
const netnses: string[] = [];

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function canMake(type: string): boolean {
  const name = devName('p');
  try {
    ip('link', 'add', name, 'type', type);
    ip('link', 'del', name);
    return true;
  } catch {
    return false;
  }
}

const haveIp = ((): boolean => {
  try {
    ip('-V');
    return true;
  } catch {
    return false;
  }
})();
const vethOk = !skipReason && haveIp && canMake('veth');
const ifbOk = !skipReason && haveIp && canMake('ifb');
const vethNote = skipNote || (haveIp ? (vethOk ? '' : ' (skipped: this kernel cannot make veth devices)') : ' (skipped: no ip(8) on this host)');
const ifbNote = vethNote || (ifbOk ? '' : ' (skipped: this kernel cannot make ifb devices)');

/** A veth pair: `inner` is moved, `outer` stays on the host. */
function vethPair(addr?: string): { inner: string; outer: string } {
  const inner = devName('i');
  const outer = devName('o');
  made.push(inner, outer);
  ip('link', 'add', inner, 'type', 'veth', 'peer', 'name', outer);
  if (addr) ip('addr', 'add', addr, 'dev', inner);
  ip('link', 'set', inner, 'up');
  return { inner, outer };
}

function ifb(): string {
  const name = devName('f');
  made.push(name);
  ip('link', 'add', name, 'type', 'ifb');
  return name;
}

/** The error text with the text log format's quoting undone (msg="... \\"lo\\" ..."). */
function unquoted(stderr: string): string {
  return stderr.replace(/\\(["\\])/g, '$1');
}

function onHost(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

afterEach(() => {
  for (const d of made.splice(0)) if (onHost(d)) ip('link', 'del', d);
  for (const n of netnses.splice(0)) {
    try {
      ip('netns', 'del', n);
    } catch {
      // Already gone.
    }
  }
});

/** A bundle whose container writes what it sees of the network into /tmp/net (rootfs/tmp/net). */
async function netBundle(netDevices: Record<string, { name?: string }>, script: string): Promise<Bundle> {
  const b = await makeBundle({ args: ['sh', '-c', `{ ${script}; } > /tmp/net 2>&1`], readonlyRoot: false });
  b.config.linux.netDevices = netDevices;
  b.write();
  return b;
}

function seen(b: Bundle): string {
  return readFileSync(join(b.rootfs, 'tmp', 'net'), 'utf8');
}

async function runToEnd(b: Bundle, id: string): Promise<void> {
  await ok(tsrun(['start', id]));
  expect(await waitFor(async () => (await containerState(id)).status === 'stopped', 10000)).toBe(true);
}

function stateFile(id: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(testRoot(), id, 'state.json'), 'utf8')) as Record<string, unknown>;
}

describe('linux.netDevices', () => {
  it.skipIf(!vethOk || !ifbOk)(`moves a renamed veth end with its address, and an ifb through a "%d" template, up${ifbNote}`, async () => {
    const { inner, outer } = vethPair('10.231.77.2/24');
    const f = ifb();
    const b = await netBundle(
      { [inner]: { name: 'ctr-eth0' }, [f]: { name: 'tsx%d' } },
      'ls /sys/class/net; ip -o addr show dev ctr-eth0; cat /sys/class/net/ctr-eth0/flags /sys/class/net/tsx0/flags',
    );
    const id = newId('netdev');
    await ok(tsrun(['create', '--bundle', b.dir, id]));
    // Gone from the host for the container's life; the peer stays.
    expect([onHost(inner), onHost(f), onHost(outer)]).toEqual([false, false, true]);
    expect(stateFile(id).netDevices).toEqual([{ host: inner, name: 'ctr-eth0' }, { host: f, name: 'tsx0' }]);
    // The OCI state output is unchanged by the internal record.
    expect(await containerState(id)).not.toHaveProperty('netDevices');
    await runToEnd(b, id);
    const out = seen(b);
    expect(out.split('\n')).toEqual(expect.arrayContaining(['ctr-eth0', 'lo', 'tsx0']));
    expect(out).toMatch(/ctr-eth0\s+inet 10\.231\.77\.2\/24 /);
    // IFF_UP (0x1) set on both, as the spec requires after the move.
    const flags = out.trim().split('\n').slice(-2).map((l) => Number(l) & 1);
    expect(flags).toEqual([1, 1]);
    await ok(tsrun(['delete', id]));
    // The spec: no move back before deletion; virtual devices die with the container's namespace
    // (and a veth's peer with it), nothing comes back to the host.
    expect(await waitFor(() => !onHost(outer), 10000)).toBe(true);
    expect([onHost(inner), onHost(f), onHost('ctr-eth0'), onHost('tsx0')]).toEqual([false, false, false, false]);
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
  });

  it.skipIf(!ifbOk)(`moves into a network namespace joined by path, where the device stays after delete${ifbNote}`, async () => {
    const f = ifb();
    const ns = `tsrn-${run}-ns`;
    ip('netns', 'add', ns);
    netnses.push(ns);
    const b = await netBundle({ [f]: {} }, `cat /sys/class/net/${f}/flags`);
    b.config.linux.namespaces = b.config.linux.namespaces!.map((n) => (n.type === 'network' ? { type: 'network', path: `/run/netns/${ns}` } : n));
    b.write();
    const id = newId('netdev');
    await ok(tsrun(['create', '--bundle', b.dir, id]));
    expect(onHost(f)).toBe(false);
    await runToEnd(b, id);
    expect(Number(seen(b).trim()) & 1).toBe(1);
    await ok(tsrun(['delete', id]));
    // The namespace's owner decides about its devices: still there, under the same name.
    expect(ip('-n', ns, '-o', 'link', 'show', 'dev', f)).toContain(f);
    expect(onHost(f)).toBe(false);
  });

  it.skipIf(!vethOk)(`moves into a container with its own user namespace${vethNote}`, async () => {
    const { inner } = vethPair('10.231.80.2/24');
    const b = await netBundle({ [inner]: { name: 'ctr-eth0' } }, 'ip -o addr show dev ctr-eth0');
    b.config.linux.namespaces = ['user', 'mount', 'pid', 'ipc', 'uts', 'network'].map((type) => ({ type }));
    b.config.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    b.config.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    b.write();
    const id = newId('netdev');
    await ok(tsrun(['create', '--bundle', b.dir, id]));
    expect(onHost(inner)).toBe(false);
    await runToEnd(b, id);
    expect(seen(b)).toMatch(/ctr-eth0\s+inet 10\.231\.80\.2\/24 /);
    await ok(tsrun(['delete', id]));
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
  });

  it.skipIf(!vethOk)(`refuses a missing host device, naming its entry, and leaves the others untouched${vethNote}`, async () => {
    const { inner } = vethPair('10.231.78.2/24');
    const missing = devName('m');
    const b = await netBundle({ [inner]: {}, [missing]: { name: 'x0' } }, 'true');
    const id = newId('netdev');
    const r = await tsrun(['create', '--bundle', b.dir, id]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`/linux/netDevices/${missing}: no network interface`);
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
    expect(ip('-o', 'addr', 'show', 'dev', inner)).toContain('10.231.78.2/24');
  });

  it.skipIf(!vethOk)(`refuses a name taken in the container's namespace${vethNote}`, async () => {
    const { inner } = vethPair();
    const b = await netBundle({ [inner]: { name: 'lo' } }, 'true');
    const id = newId('netdev');
    const r = await tsrun(['create', '--bundle', b.dir, id]);
    expect(r.code).not.toBe(0);
    expect(unquoted(r.stderr)).toContain(`/linux/netDevices/${inner}/name: a network interface "lo" already exists`);
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
    expect(onHost(inner)).toBe(true);
  });

  it.skipIf(!vethOk)(`a create failing after the move (prestart hook) puts the device back as it was${vethNote}`, async () => {
    const { inner, outer } = vethPair('10.231.79.2/24');
    const b = await netBundle({ [inner]: { name: 'ctr-eth0' } }, 'true');
    b.config.hooks = { prestart: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 3'] }] };
    b.write();
    const id = newId('netdev');
    const r = await tsrun(['create', '--bundle', b.dir, id]);
    expect(r.code).not.toBe(0);
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
    expect([onHost(inner), onHost(outer), onHost('ctr-eth0')]).toEqual([true, true, false]);
    const link = ip('-o', 'link', 'show', 'dev', inner);
    expect(link).toMatch(/<[^>]*\bUP\b[^>]*>/);
    expect(ip('-o', 'addr', 'show', 'dev', inner)).toContain('10.231.79.2/24');
  });
});

/** A network namespace of this run (`ip netns add`), removed after each test. */
function netns(): string {
  const ns = `tsrn-${run}-n${serial++}`;
  ip('netns', 'add', ns);
  netnses.push(ns);
  return ns;
}

describe('addon netdevMove', () => {
  const withFds = (ns: string, f: (host: number, ctr: number) => void): void => {
    const host = openSync('/proc/self/ns/net', 'r');
    const ctr = openSync(`/run/netns/${ns}`, 'r');
    try {
      f(host, ctr);
    } finally {
      closeSync(host);
      closeSync(ctr);
    }
  };

  it.skipIf(!vethOk)(`there and back keeps permanent global IPv4 and IPv6 addresses (only those) and the up state${vethNote}`, () => {
    const { inner } = vethPair('10.231.81.2/24');
    ip('-6', 'addr', 'add', 'fd00:231:81::2/64', 'dev', inner, 'nodad');
    // Neither a link-scope address nor one with a lifetime (not IFA_F_PERMANENT) may follow.
    ip('addr', 'add', '10.231.181.9/24', 'dev', inner, 'scope', 'link');
    ip('-6', 'addr', 'add', 'fe80::77/64', 'dev', inner, 'nodad');
    ip('addr', 'add', '10.231.182.10/24', 'dev', inner, 'valid_lft', '300', 'preferred_lft', '300');
    const ns = netns();
    withFds(ns, (host, ctr) => {
      const there = native().netdevMove(inner, 'c0', host, ctr, true);
      expect(there).toEqual({ name: 'c0', index: expect.any(Number), wasUp: true, addresses: ['10.231.81.2/24', 'fd00:231:81::2/64'] });
      const addrs = ip('-n', ns, '-o', 'addr', 'show', 'dev', 'c0');
      expect(addrs).toContain('inet 10.231.81.2/24');
      expect(addrs).toContain('inet6 fd00:231:81::2/64');
      expect(onHost(inner)).toBe(false);
      const back = native().netdevMove('c0', inner, ctr, host, false);
      expect(back.name).toBe(inner);
      expect(ip('-o', 'addr', 'show', 'dev', inner)).toContain('inet 10.231.81.2/24');
      expect(ip('-o', 'link', 'show', 'dev', inner)).not.toMatch(/<[^>]*\bUP\b[^>]*>/);
    });
  });

  it.skipIf(!ifbOk)(`a "%d" name is completed and found even when the target namespace uses the device's index${ifbNote}`, () => {
    const f = ifb();
    const index = readFileSync(`/sys/class/net/${f}/ifindex`, 'utf8').trim();
    const ns = netns();
    ip('-n', ns, 'link', 'add', 'name', 'holder', 'index', index, 'type', 'ifb');
    ip('-n', ns, 'link', 'add', 'name', 'x0', 'type', 'ifb');
    withFds(ns, (host, ctr) => {
      const there = native().netdevMove(f, 'x%d', host, ctr, true);
      expect(there.name).toBe('x1');
      expect(String(there.index)).not.toBe(index);
      expect(ip('-n', ns, '-o', 'link', 'show', 'dev', 'x1')).toMatch(/<[^>]*\bUP\b[^>]*>/);
      expect(ip('-n', ns, '-o', 'link', 'show', 'dev', 'holder')).not.toMatch(/<[^>]*\bUP\b[^>]*>/);
    });
  });

  it.skipIf(!vethOk)(`a step failing after the move puts the device back, addresses and up state included${vethNote}`, () => {
    const { inner } = vethPair('10.231.82.2/24');
    const ns = netns();
    withFds(ns, (host, ctr) => {
      // Two "%d": the kernel refuses the rename that follows the move (validation stops this earlier).
      expect(() => native().netdevMove(inner, 'b%d%d', host, ctr, true)).toThrow(/^EINVAL: .*RTM_NEWLINK IFLA_IFNAME/);
      expect(ip('-o', 'addr', 'show', 'dev', inner)).toContain('inet 10.231.82.2/24');
      expect(ip('-o', 'link', 'show', 'dev', inner)).toMatch(/<[^>]*\bUP\b[^>]*>/);
      expect(ip('-n', ns, '-o', 'link').trim().split('\n')).toHaveLength(1);
    });
  });
});
