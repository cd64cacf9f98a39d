import { describe, expect, it } from 'vitest';
import { list, parseArgs } from '../../src/cli/args.js';
import { findCommand } from '../../src/cli/commands.js';
import { execOptions } from '../../src/cli/exec.js';

const exec = findCommand('exec')!;
const parse = (argv: string[]) => parseArgs(argv, exec.flags, { stopAtPositional: exec.stopAtPositional ?? false });
const ctx = (argv: string[]) => {
  const parsed = parse(argv);
  return { globals: { root: '/run/x', log: null, logFormat: 'text' as const, debug: false }, parsed, args: parsed.args };
};

describe('exec command line', () => {
  it('is implemented and stops at the command: its own flags are not tsrun\'s', () => {
    expect(exec.notImplemented).toBeFalsy();
    const p = parse(['--env', 'A=1', 'c1', '/bin/sh', '-c', 'exit 5', '--env', 'x']);
    expect(p.args).toEqual(['c1', '/bin/sh', '-c', 'exit 5', '--env', 'x']);
    expect(list(p, 'env')).toEqual(['A=1']);
  });

  it('repeatable flags keep every value in order, in all spellings', () => {
    const p = parse(['-e', 'A=1', '--env=B=2', '-env', 'C=3', '-c', 'CAP_KILL', '--cap', 'CAP_CHOWN', '-g', '10', '--additional-gids=20', 'c1', 'true']);
    expect(list(p, 'env')).toEqual(['A=1', 'B=2', 'C=3']);
    expect(list(p, 'cap')).toEqual(['CAP_KILL', 'CAP_CHOWN']);
    expect(list(p, 'additional-gids')).toEqual(['10', '20']);
    expect(() => parse(['--env'])).toThrow('flag needs an argument: -env');
  });

  it('maps the flags onto ExecOptions', () => {
    const o = execOptions(ctx(['-d', '--pid-file', 'p', '-u', '1:2', '--cwd', '/tmp', '-t', '--no-new-privs', '--preserve-fds', '2', '--cgroup', 'sub', 'c1', 'ls', '-l']));
    expect(o).toMatchObject({
      id: 'c1', root: '/run/x', detach: true, pidFile: 'p', preserveFds: 2, cgroup: 'sub',
      flags: { args: ['ls', '-l'], user: '1:2', cwd: '/tmp', tty: true, noNewPrivs: true, env: [], caps: [], additionalGids: [] },
    });
    expect(execOptions(ctx(['c1', 'ls'])).flags.noNewPrivs).toBeUndefined();
    expect(execOptions(ctx(['--no-new-privs=false', 'c1', 'ls'])).flags.noNewPrivs).toBe(false);
    expect(execOptions(ctx(['-p', 'proc.json', 'c1'])).processFile).toBe('proc.json');
    expect(() => execOptions(ctx(['--preserve-fds', '-1', 'c1', 'ls']))).toThrow(/must not be negative/);
  });
});
