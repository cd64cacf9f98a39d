import { describe, expect, it } from 'vitest';
import { parseSignal, SIGNALS } from '../../src/process/signals.js';

describe('parseSignal', () => {
  it('accepts numbers, names with and without SIG, any case', () => {
    for (const s of ['9', 'KILL', 'SIGKILL', 'kill', 'sigkill']) expect(parseSignal(s)).toBe(9);
    expect(parseSignal('15')).toBe(15);
    expect(parseSignal('TERM')).toBe(15);
    expect(parseSignal('SIGUSR1')).toBe(10);
    expect(parseSignal('WINCH')).toBe(28);
  });

  it('accepts the real-time forms', () => {
    expect(parseSignal('RTMIN')).toBe(34);
    expect(parseSignal('SIGRTMIN+3')).toBe(37);
    expect(parseSignal('RTMAX')).toBe(64);
    expect(parseSignal('SIGRTMAX-2')).toBe(62);
    expect(parseSignal('64')).toBe(64);
  });

  it('rejects unknown names and out-of-range numbers, naming the text', () => {
    expect(() => parseSignal('SIGFOO')).toThrow('unknown signal "SIGFOO"');
    expect(() => parseSignal('RTMIN-1')).toThrow('unknown signal "RTMIN-1"');
    expect(() => parseSignal('RTMAX+1')).toThrow('unknown signal "RTMAX+1"');
    expect(() => parseSignal('RTMIN+31')).toThrow(/unknown signal/);
    expect(() => parseSignal('0')).toThrow(/invalid signal number 0/);
    expect(() => parseSignal('65')).toThrow(/invalid signal number 65/);
    expect(() => parseSignal('')).toThrow(/unknown signal/);
  });

  it('knows every standard signal with its Linux number', () => {
    expect(new Set(Object.values(SIGNALS))).toEqual(new Set(Array.from({ length: 31 }, (_, i) => i + 1)));
    expect(SIGNALS.SIGSYS).toBe(31);
    expect(SIGNALS.SIGCHLD).toBe(17);
  });
});
