import { describe, expect, it } from 'vitest';
import { extraFds, listenFdCount } from '../../src/process/extra-fds.js';

const allOpen = () => true;

describe('LISTEN_FDS (sd_listen_fds rules, as runc)', () => {
  it('counts only fds meant for this pid', () => {
    expect(listenFdCount({ LISTEN_FDS: '2', LISTEN_PID: '77' }, 77)).toBe(2);
    expect(listenFdCount({ LISTEN_FDS: '2', LISTEN_PID: '78' }, 77)).toBe(0);
    expect(listenFdCount({ LISTEN_FDS: '2' }, 77)).toBe(0);
    expect(listenFdCount({ LISTEN_FDS: 'x', LISTEN_PID: '77' }, 77)).toBe(0);
    expect(listenFdCount({}, 77)).toBe(0);
  });
});

describe('extraFds', () => {
  it('activation fds first, then --preserve-fds; LISTEN_FDS and LISTEN_PID=1 for the container', () => {
    const seen: number[] = [];
    const r = extraFds(2, { LISTEN_FDS: '3', LISTEN_PID: '10' }, 10, (fd) => (seen.push(fd), true));
    expect(r).toEqual({ count: 5, env: ['LISTEN_FDS=3', 'LISTEN_PID=1'] });
    expect(seen).toEqual([3, 4, 5, 6, 7]);
  });
  it('no activation: only the preserved fds, no env', () => {
    expect(extraFds(1, {}, 10, allOpen)).toEqual({ count: 1, env: [] });
    expect(extraFds(0, {}, 10, allOpen)).toEqual({ count: 0, env: [] });
  });
  it('a closed preserved fd is an error naming it, as runc', () => {
    expect(() => extraFds(3, { LISTEN_FDS: '1', LISTEN_PID: '10' }, 10, (fd) => fd !== 5)).toThrow(
      'unable to stat preserved-fd 1 (of 3): fd 5 is not open',
    );
  });
  it('a closed activation fd is an error naming LISTEN_FDS', () => {
    expect(() => extraFds(0, { LISTEN_FDS: '2', LISTEN_PID: '10' }, 10, (fd) => fd !== 4)).toThrow(/LISTEN_FDS fd 1 \(of 2\)/);
  });
});
