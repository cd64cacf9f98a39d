// src/container/netdev.ts with the recording fake addon: which moves a config asks for, in which
// namespace, the checks before any move, the undo of earlier moves, and the errors' wording.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NetDevices, checkError, devicePointer, netDeviceRequests, netnsFile } from '../../src/container/netdev.js';
import { FakeNative, systemError } from '../../src/native/fake.js';
import type { Spec } from '../../src/spec/types.js';
import { semanticProblems } from '../../src/spec/validate.js';

const dir = mkdtempSync(join(tmpdir(), 'tsrun-netdev-'));
// A stand-in for a namespace file: any file that is not this process's own network namespace.
const nsFile = join(dir, 'netns');
writeFileSync(nsFile, '');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function spec(netDevices: Record<string, { name?: string }>, path: string | null = nsFile): Spec {
  return {
    ociVersion: '1.3.0',
    root: { path: 'rootfs' },
    process: { cwd: '/', args: ['sh'], user: { uid: 0, gid: 0 } },
    linux: { namespaces: [{ type: 'mount' }, path === null ? { type: 'network' } : { type: 'network', path }], netDevices },
  };
}

describe('netDeviceRequests and netnsFile', () => {
  it('keeps the config order and defaults the name to the host name', () => {
    expect(netDeviceRequests(spec({ eth1: {}, eth2: { name: 'c0' }, eth3: { name: 'x%d' } }))).toEqual([
      { host: 'eth1', name: 'eth1' },
      { host: 'eth2', name: 'c0' },
      { host: 'eth3', name: 'x%d' },
    ]);
    expect(netDeviceRequests({ ociVersion: '1.3.0' })).toEqual([]);
  });

  it("names a joined namespace's path, else the init's namespace, else none", () => {
    expect(netnsFile(spec({}, '/run/netns/a'), 42)).toBe('/run/netns/a');
    expect(netnsFile(spec({}, null), 42)).toBe('/proc/42/ns/net');
    expect(netnsFile({ ociVersion: '1.3.0', linux: { namespaces: [{ type: 'pid' }] } }, 42)).toBeNull();
  });

  it('errors name the config entry, escaped as a JSON pointer', () => {
    expect(devicePointer('a/b~c')).toBe('/linux/netDevices/a~1b~0c');
    const req = { host: 'eth1', name: 'lo' };
    expect(checkError(req, false, systemError('ENODEV', 19, 'RTM_GETLINK', 'eth1')).message).toBe(
      '/linux/netDevices/eth1: no network interface "eth1" in the runtime network namespace',
    );
    expect(checkError(req, true, systemError('EEXIST', 17, 'RTM_GETLINK', 'lo')).message).toBe(
      `/linux/netDevices/eth1/name: a network interface "lo" already exists in the container's network namespace`,
    );
    expect(checkError(req, false, systemError('EPERM', 1, 'setns')).message).toMatch(/^\/linux\/netDevices\/eth1: cannot move network interface "eth1": EPERM/);
  });

  it('validation refuses two devices with one container name (a "%d" template may repeat)', () => {
    expect(semanticProblems(spec({ a: { name: 'c0' }, b: { name: 'c0' }, c: { name: 'x%d' }, d: { name: 'x%d' } }))).toEqual([
      '/linux/netDevices/b/name: "c0" is also the container name of "a"',
    ]);
    expect(semanticProblems(spec({ a: { name: 'b' }, b: {} }))).toEqual(['/linux/netDevices/b/name: "b" is also the container name of "a"']);
    expect(semanticProblems(spec({ 'e%d': {}, f: { name: 'x%d%d' }, g: { name: 'y%s' }, h: { name: 'z%d0' } }))).toEqual([
      '/linux/netDevices/e%d: "e%d" is not a valid interface name',
      '/linux/netDevices/f/name: "x%d%d": a name template takes exactly one "%d"',
      '/linux/netDevices/g/name: "y%s": a name template takes exactly one "%d"',
    ]);
  });
});

describe('NetDevices.move', () => {
  it('checks every device before moving any, then moves each up into the container namespace', () => {
    const nat = new FakeNative();
    const moved = (_n: string, newName: string) => ({ name: newName === 'x%d' ? 'x0' : newName, index: 5, wasUp: false, addresses: ['10.0.0.2/24'] });
    nat.script('netdevMove', moved, moved);
    const nd = NetDevices.move(nat, spec({ eth1: { name: 'c0' }, eth2: { name: 'x%d' } }), 7)!;
    try {
      expect(nat.calls.map((c) => `${c.name} ${String(c.args[0])}`)).toEqual(['netdevCheck eth1', 'netdevCheck eth2', 'netdevMove eth1', 'netdevMove eth2']);
      const [from, to] = nat.callsOf('netdevMove')[0]!.slice(2, 4) as number[];
      expect(from).not.toBe(to);
      expect(nat.callsOf('netdevMove').map((a) => a[4])).toEqual([true, true]);
      expect(nd.records()).toEqual([{ host: 'eth1', name: 'c0' }, { host: 'eth2', name: 'x0' }]);
    } finally {
      nd.close();
    }
  });

  it('moves nothing when a check fails', () => {
    const nat = new FakeNative().script('netdevCheck', undefined, systemError('ENODEV', 19, 'RTM_GETLINK', 'eth2'));
    expect(() => NetDevices.move(nat, spec({ eth1: {}, eth2: {} }), 7)).toThrow('/linux/netDevices/eth2: no network interface "eth2"');
    expect(nat.callsOf('netdevMove')).toEqual([]);
  });

  it('a failed move puts the earlier ones back, last first, under their host names and up state', () => {
    const nat = new FakeNative().script(
      'netdevMove',
      { name: 'c1', index: 3, wasUp: true, addresses: [] },
      { name: 'c2', index: 4, wasUp: false, addresses: [] },
      systemError('EBUSY', 16, 'RTM_NEWLINK IFLA_NET_NS_FD', 'eth3'),
    );
    expect(() => NetDevices.move(nat, spec({ eth1: { name: 'c1' }, eth2: { name: 'c2' }, eth3: {} }), 7)).toThrow(
      /^\/linux\/netDevices\/eth3: moving network interface "eth3" into the container's network namespace: EBUSY/,
    );
    const moves = nat.callsOf('netdevMove');
    const [host, ctr] = moves[0]!.slice(2, 4) as number[];
    expect(moves.slice(3).map((a) => a.slice(0, 5))).toEqual([
      ['c2', 'eth2', ctr, host, false],
      ['c1', 'eth1', ctr, host, true],
    ]);
  });

  it('none listed: nothing opened, nothing called', () => {
    const nat = new FakeNative();
    expect(NetDevices.move(nat, spec({}), 7)).toBeNull();
    expect(nat.calls).toEqual([]);
  });

  it("refuses the runtime's own network namespace as the container's", () => {
    const nat = new FakeNative();
    expect(() => NetDevices.move(nat, spec({ eth1: {} }, '/proc/self/ns/net'), 7)).toThrow(/is the runtime's own/);
    expect(nat.calls).toEqual([]);
  });
});
