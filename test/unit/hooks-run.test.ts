import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runHook, runHooks, runHooksWarnOnly } from '../../src/hooks.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsrun-hooks-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const STATE = '{"ociVersion":"1.3.0","id":"c1","status":"creating","pid":42,"bundle":"/b"}';

describe('runHook', () => {
  it('gives the state on stdin, exactly hook.env as environment and args as argv', () => {
    const out = join(dir, 'out');
    runHook({ path: '/bin/sh', args: ['my-hook', '-c', `cat > ${out}.stdin; env > ${out}.env; cat /proc/$$/cmdline > ${out}.argv`, 'one'], env: ['FOO=bar', 'X=1=2'] }, STATE);
    expect(readFileSync(`${out}.stdin`, 'utf8')).toBe(STATE);
    const env = readFileSync(`${out}.env`, 'utf8').trim().split('\n').filter((l) => !l.startsWith('PWD=') && !l.startsWith('SHLVL=') && !l.startsWith('_='));
    expect(env.sort()).toEqual(['FOO=bar', 'X=1=2']);
    const argv = readFileSync(`${out}.argv`, 'utf8').split('\0');
    expect(argv[0]).toBe('my-hook');
    expect(argv[1]).toBe('-c');
    expect(argv[3]).toBe('one');
  });

  it('nothing of tsrun leaks into the environment', () => {
    const out = join(dir, 'env');
    process.env.TSRUN_SECRET_TEST = 'leak';
    try {
      runHook({ path: '/bin/sh', args: ['sh', '-c', `env > ${out}`] }, STATE);
    } finally {
      delete process.env.TSRUN_SECRET_TEST;
    }
    expect(readFileSync(out, 'utf8')).not.toContain('TSRUN_SECRET_TEST');
    expect(readFileSync(out, 'utf8')).not.toContain('PATH=');
  });

  it('a hook without args gets its path as argv[0]', () => {
    const script = join(dir, 'h.sh');
    writeFileSync(script, `#!/bin/sh\necho "$0" > ${dir}/argv0\n`, { mode: 0o755 });
    runHook({ path: script }, STATE);
    expect(readFileSync(join(dir, 'argv0'), 'utf8').trim()).toBe(script);
  });

  it('a hook that does not read stdin still succeeds', () => {
    expect(() => runHook({ path: '/bin/sh', args: ['sh', '-c', 'exit 0'] }, 'x'.repeat(1 << 20))).not.toThrow();
  });

  it('failure: runc wording with exit status, stdout and stderr', () => {
    expect(() => runHooks('prestart', [{ path: '/bin/sh', args: ['sh', '-c', 'echo out; echo err >&2; exit 3'] }], STATE)).toThrow(
      'error running prestart hook #0: exit status 3, stdout: out\n, stderr: err\n',
    );
  });

  it('names the failing hook by index and stops the list', () => {
    const mark = join(dir, 'third');
    expect(() =>
      runHooks('createRuntime', [
        { path: '/bin/true' },
        { path: '/bin/false' },
        { path: '/bin/sh', args: ['sh', '-c', `touch ${mark}`] },
      ], STATE),
    ).toThrow(/^error running createRuntime hook #1: exit status 1/);
    expect(() => readFileSync(mark)).toThrow();
  });

  it('kills a hook at its timeout', () => {
    const t0 = Date.now();
    expect(() => runHook({ path: '/bin/sh', args: ['sh', '-c', 'sleep 10'], timeout: 1 }, STATE)).toThrow('hook ran past specified timeout of 1.0s');
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('a missing executable is reported like Go', () => {
    expect(() => runHook({ path: join(dir, 'nope') }, STATE)).toThrow(`fork/exec ${join(dir, 'nope')}: no such file or directory`);
  });

  it('a hook killed by a signal says so', () => {
    expect(() => runHook({ path: '/bin/sh', args: ['sh', '-c', 'kill -9 $$'] }, STATE)).toThrow(/^signal: killed, stdout: , stderr: $/);
  });

  it('poststop failures are warnings and the rest still run', () => {
    const mark = join(dir, 'second');
    expect(() => runHooksWarnOnly('poststop', [{ path: '/bin/false' }, { path: '/bin/sh', args: ['sh', '-c', `touch ${mark}`] }], STATE)).not.toThrow();
    expect(readFileSync(mark, 'utf8')).toBe('');
  });
});
