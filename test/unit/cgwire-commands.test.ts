import { describe, expect, it } from 'vitest';
import { filterRows } from '../../src/container/ps-table.js';
import { ramInBytes, resourcesFromFlags } from '../../src/container/update.js';
import { parseDuration } from '../../src/container/events.js';

describe('ps table filter (runc ps)', () => {
  const out = 'UID   PID  PPID  C STIME TTY TIME CMD\nroot    1     0  0 10:00 ?   00:00:01 /sbin/init\nroot  420     1  0 10:01 ?   00:00:00 sleep 1000\nroot  421   420  0 10:01 ?   00:00:00 sh -c x\n';
  it('keeps the header and only the rows whose PID column is the container\'s', () => {
    expect(filterRows(out, [420, 421])).toBe('UID   PID  PPID  C STIME TTY TIME CMD\nroot  420     1  0 10:01 ?   00:00:00 sleep 1000\nroot  421   420  0 10:01 ?   00:00:00 sh -c x\n');
  });
  it('does not match a pid that appears only in another column', () => {
    expect(filterRows(out, [0])).toBe('UID   PID  PPID  C STIME TTY TIME CMD\n');
  });
  it('needs a PID column (runc\'s wording)', () => {
    expect(() => filterRows('USER COMMAND\nroot x\n', [1])).toThrow("couldn't find PID field in ps output");
  });
});

describe('update flags (runc update)', () => {
  it('sizes as docker units.RAMInBytes: binary units, -1 unlimited', () => {
    expect(ramInBytes('--memory', '64m')).toBe(64 * 1024 * 1024);
    expect(ramInBytes('--memory', '1.5g')).toBe(1.5 * 1024 ** 3);
    expect(ramInBytes('--memory', '512KiB')).toBe(512 * 1024);
    expect(ramInBytes('--memory', '1000')).toBe(1000);
    expect(ramInBytes('--memory-swap', '-1')).toBe(-1);
    expect(() => ramInBytes('--memory', 'lots')).toThrow("invalid value for --memory: invalid size: 'lots'");
  });
  it('maps each flag to its linux.resources field, only the ones given', () => {
    expect(resourcesFromFlags({
      'blkio-weight': 300, 'cpu-period': '100000', 'cpu-quota': '-1', 'cpu-rt-period': '1000000', 'cpu-rt-runtime': '950000',
      'cpu-share': '512', 'cpuset-cpus': '0-1', 'cpuset-mems': '0', memory: '32m', 'memory-reservation': '16m', 'memory-swap': '64m', 'pids-limit': 20,
    })).toEqual({
      blockIO: { weight: 300 },
      cpu: { period: 100000, quota: -1, realtimePeriod: 1000000, realtimeRuntime: 950000, shares: 512, cpus: '0-1', mems: '0' },
      memory: { limit: 32 * 1024 ** 2, reservation: 16 * 1024 ** 2, swap: 64 * 1024 ** 2 },
      pids: { limit: 20 },
    });
    expect(resourcesFromFlags({ 'pids-limit': 5 })).toEqual({ pids: { limit: 5 } });
  });
  it('refuses a negative period, naming the flag; the Intel RDT flags are not resources', () => {
    expect(() => resourcesFromFlags({ 'cpu-period': '-5' })).toThrow('--cpu-period');
    expect(resourcesFromFlags({ 'mem-bw-schema': 'MB:0=50', 'l3-cache-schema': 'L3:0=f' })).toEqual({});
  });
});

describe('events --interval (Go durations)', () => {
  it('parses the usual forms', () => {
    expect(parseDuration('5s')).toBe(5000);
    expect(parseDuration('100ms')).toBe(100);
    expect(parseDuration('1500\u00b5s')).toBe(1.5); // Go's micro sign, as runc's --interval takes it
    expect(parseDuration('1m30s')).toBe(90000);
    expect(parseDuration('1.5s')).toBe(1500);
  });
  it('refuses garbage and zero', () => {
    expect(() => parseDuration('5')).toThrow('invalid value "5" for flag -interval');
    expect(() => parseDuration('0s')).toThrow('greater than 0');
  });
});
