import { describe, expect, it } from 'vitest';
import { table, tabwrite } from '../../src/cli/list.js';
import { formatLine } from '../../src/log.js';

describe('list table', () => {
  it('pads like Go tabwriter(minwidth 12, padding 3) and leaves the last column unpadded', () => {
    const out = table([
      { ociVersion: '1.3.0', id: 'a-rather-long-container-id', pid: 42, status: 'running', bundle: '/b', rootfs: '/b/rootfs', created: '2026-01-01T00:00:00.000Z', owner: 'root' },
      { ociVersion: '1.3.0', id: 'c2', pid: 0, status: 'stopped', bundle: '/some/bundle/dir', rootfs: '/r', created: '2026-01-01T00:00:01.000Z', owner: 'root' },
    ]);
    expect(out.split('\n')).toEqual([
      'ID                           PID         STATUS      BUNDLE             CREATED                    OWNER',
      'a-rather-long-container-id   42          running     /b                 2026-01-01T00:00:00.000Z   root',
      'c2                           0           stopped     /some/bundle/dir   2026-01-01T00:00:01.000Z   root',
      '',
    ]);
  });

  it('a single column row is not padded', () => {
    expect(tabwrite([['x'], ['yy']])).toBe('x\nyy\n');
  });
});

describe('log lines', () => {
  const t = new Date('2026-02-03T04:05:06.789Z');
  it('json: the keys containerd and podman read', () => {
    expect(JSON.parse(formatLine('error', 'boom "x"', 'json', t))).toEqual({ level: 'error', msg: 'boom "x"', time: '2026-02-03T04:05:06Z' });
    expect(formatLine('error', 'm', 'json', t).endsWith('}\n')).toBe(true);
  });
  it('text: logrus form with quoted values', () => {
    expect(formatLine('warning', 'a "b"\nc', 'text', t)).toBe('time="2026-02-03T04:05:06Z" level=warning msg="a \\"b\\"\\nc"\n');
  });
});
