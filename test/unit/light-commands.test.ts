/**
 * Issue 2: `--version`, `state`, `list` and `kill` load no validator. The shipped bundle is one
 * file, so the split is shown on an ES module build with code splitting, where every module the
 * commands import lazily lands in its own chunk: with the chunk of src/spec/load.ts (the only
 * importer of the generated validators) deleted, the light commands still work and `create`
 * cannot, which shows the deletion bites.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Store, STATE_FORMAT } from '../../src/container/store.js';

const repo = join(import.meta.dirname, '..', '..');
// Inside the checkout: src/native finds build/Release/tsrun.node from the bundle's directory.
const out = join(repo, `.light-commands-${process.pid}`);
const root = mkdtempSync(join(tmpdir(), 'tsrun-light-'));
const built = existsSync(join(repo, 'build', 'Release', 'tsrun.node'));

function tsrun(...args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [join(out, 'main.js'), '--root', root, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

beforeAll(async () => {
  if (!built) return;
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints: [join(repo, 'src', 'cli', 'main.ts')], outdir: out, bundle: true, splitting: true,
    format: 'esm', platform: 'node', target: 'node20', logLevel: 'warning',
  });
  const validators = readdirSync(out).filter((f) => readFileSync(join(out, f), 'utf8').includes('src/spec/generated/config-validator.js'));
  expect(validators).toHaveLength(1);
  unlinkSync(join(out, validators[0]!));
  // A stopped container (its pid is not running) with its lock, as create leaves one.
  const store = new Store(root);
  store.createDir('c1');
  writeFileSync(store.lockPath('c1'), '');
  store.write({
    format: STATE_FORMAT, ociVersion: '1.3.0', id: 'c1', phase: 'created', pid: 0x3ffffff, pidStartTime: '1',
    creatorPid: 0, creatorStartTime: '', bundle: '/b', rootfs: '/b/rootfs', annotations: {},
    created: '2026-01-01T00:00:00.000Z', owner: 'root', hooks: { poststart: [], poststop: [] },
  });
});

afterAll(() => {
  rmSync(out, { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
});

describe.skipIf(!built)(`light commands without the validators${built ? '' : ' (skipped: build/Release/tsrun.node not built)'}`, () => {
  it('--version, list, state and kill run with the validator chunk deleted', () => {
    expect(tsrun('--version')).toMatchObject({ code: 0, out: expect.stringContaining('tsrun version') });
    expect(tsrun('list')).toMatchObject({ code: 0, out: expect.stringMatching(/^ID +PID +STATUS[^]*\nc1 +0 +stopped/) });
    const st = tsrun('state', 'c1');
    expect(st.code).toBe(0);
    expect(JSON.parse(st.out)).toMatchObject({ id: 'c1', status: 'stopped' });
    expect(tsrun('kill', 'c1', 'KILL')).toMatchObject({ code: 1, out: expect.stringContaining('container not running') });
  });

  it('create, which validates config.json, needs that chunk (the deletion is real)', () => {
    const r = tsrun('create', '--bundle', root, 'c2');
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/Cannot find module .*load-/);
  });
});
