import { describe, expect, it } from 'vitest';
import { parseArgs, flagHelp, type FlagDef } from '../../src/cli/args.js';
import { UsageError } from '../../src/errors.js';

const defs: FlagDef[] = [
  { name: 'bundle', aliases: ['b'], kind: 'string', usage: 'bundle dir' },
  { name: 'detach', aliases: ['d'], kind: 'bool', usage: 'detach' },
  { name: 'preserve-fds', kind: 'int', usage: 'n fds' },
];

describe('parseArgs', () => {
  it('accepts --flag value, --flag=value, -flag value and short aliases', () => {
    for (const argv of [['--bundle', '/b', 'id'], ['--bundle=/b', 'id'], ['-bundle', '/b', 'id'], ['-b', '/b', 'id'], ['-b=/b', 'id']]) {
      const p = parseArgs(argv, defs, { stopAtPositional: false });
      expect(p.values.bundle).toBe('/b');
      expect(p.args).toEqual(['id']);
    }
  });

  it('booleans never take the next word and accept =true/=false', () => {
    expect(parseArgs(['-d', 'id'], defs, { stopAtPositional: false })).toMatchObject({ values: { detach: true }, args: ['id'] });
    expect(parseArgs(['--detach=false', 'id'], defs, { stopAtPositional: false }).values.detach).toBe(false);
    expect(() => parseArgs(['--detach=maybe'], defs, { stopAtPositional: false })).toThrow(/-detach/);
  });

  it('parses ints and names the flag on a bad value', () => {
    expect(parseArgs(['--preserve-fds', '3', 'x'], defs, { stopAtPositional: false }).values['preserve-fds']).toBe(3);
    expect(() => parseArgs(['--preserve-fds', 'three'], defs, { stopAtPositional: false })).toThrow(/invalid value "three" for flag -preserve-fds/);
  });

  it('errors name an unknown flag and a flag missing its value', () => {
    expect(() => parseArgs(['--bogus'], defs, { stopAtPositional: false })).toThrow(new UsageError('flag provided but not defined: -bogus'));
    expect(() => parseArgs(['--bundle'], defs, { stopAtPositional: false })).toThrow('flag needs an argument: -bundle');
  });

  it('-- ends the flags', () => {
    const p = parseArgs(['-d', '--', '--bundle', 'x'], defs, { stopAtPositional: false });
    expect(p.args).toEqual(['--bundle', 'x']);
    expect(p.values.bundle).toBeUndefined();
  });

  it('flags may follow positional arguments unless stopAtPositional', () => {
    expect(parseArgs(['id', '-d'], defs, { stopAtPositional: false })).toMatchObject({ values: { detach: true }, args: ['id'] });
    expect(parseArgs(['cmd', '-d'], defs, { stopAtPositional: true })).toMatchObject({ values: {}, args: ['cmd', '-d'] });
  });

  it('recognises --help and -h', () => {
    expect(parseArgs(['--help'], defs, { stopAtPositional: false }).help).toBe(true);
    expect(parseArgs(['-h'], defs, { stopAtPositional: false }).help).toBe(true);
  });

  it('renders help lines in runc layout', () => {
    expect(flagHelp(defs)).toContain('--bundle value, -b value  bundle dir');
    expect(flagHelp(defs)).toContain('--detach, -d');
  });
});
