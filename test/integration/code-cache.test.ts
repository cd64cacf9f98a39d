/**
 * The V8 code caches the build seeds (scripts/build.mjs, scripts/boot.cjs): each command starts with
 * its own cache, or the `list` one, and V8 accepts it under the flags bin/tsrun gives node. A cache
 * V8 rejects costs every start its compile time without any error, so only this test notices.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { repoRoot, tsrunBin } from '../../conformance/lib/paths.js';

const dist = join(repoRoot, 'dist');
const built = existsSync(join(dist, 'boot.cjs')) && existsSync(join(dist, 'tsrun.cjs.cache'));
const root = mkdtempSync(join(tmpdir(), 'tsrun-code-cache-'));

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The cache line boot.cjs prints for one command line (the command itself may fail). */
function cacheUsed(args: string[]): string {
  const r = spawnSync(tsrunBin, ['--root', root, ...args], {
    encoding: 'utf8',
    env: { ...process.env, TSRUN_DEBUG_CODE_CACHE: '1' },
  });
  const line = r.stderr.split('\n').find((l) => l.startsWith('tsrun: code cache '));
  return line ?? `no code cache line in: ${r.stderr}`;
}

describe.skipIf(!built)(`code caches${built ? '' : ' (skipped: dist/ not built)'}`, () => {
  it('the light commands use the list cache and V8 accepts it', () => {
    for (const args of [['list'], ['--version'], ['--log-format', 'json', 'ps', 'nope']]) {
      expect(cacheUsed(args)).toBe(`tsrun: code cache ${join(dist, 'tsrun.cjs.cache')}: accepted`);
    }
  });

  const own: [string, string[]][] = [
    ['create', ['create', '--bundle', root, 'nope']],
    ['create', ['--debug', 'run', '--bundle', root, 'nope']],
    ['state', ['state', 'nope']],
    ['kill', ['--root', root, 'kill', 'nope', 'KILL']],
    ['start', ['start', 'nope']],
    ['delete', ['delete', 'nope']],
  ];
  for (const [cache, args] of own) {
    const file = join(dist, `tsrun.cjs.${cache}.cache`);
    const seeded = existsSync(file);
    it.skipIf(!seeded)(`tsrun ${args.join(' ')} uses the ${cache} cache and V8 accepts it${seeded ? '' : ' (skipped: the build could not seed it: no root or no busybox)'}`, () => {
      expect(cacheUsed(args)).toBe(`tsrun: code cache ${file}: accepted`);
    });
  }
});

describe('launcher environment', () => {
  it('node never loads NODE_EXTRA_CA_CERTS for tsrun (no TLS; it cost every start 35-100 ms)', () => {
    // A file that cannot be loaded makes node warn on stderr: silence shows it was not read.
    const r = spawnSync(tsrunBin, ['--version'], { encoding: 'utf8', env: { ...process.env, NODE_EXTRA_CA_CERTS: join(root, 'no-such-ca.pem') } });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
  });
});

describe('the minified bundle', () => {
  it('keeps error class names (no keepNames): --debug shows "NotFoundError" in the stack', () => {
    const r = spawnSync(tsrunBin, ['--root', root, '--debug', 'state', 'nope'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('container does not exist');
    expect(r.stderr).toMatch(/NotFoundError: container does not exist/);
  });
});
