import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, TsrunError } from '../../src/errors.js';
import { loadBundle, parseJson, parseProcess, parseSpec, stateProblems, validateState } from '../../src/spec/load.js';

const tmp = mkdtempSync(join(tmpdir(), 'tsrun-spec-load-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
function bundleWith(config: string | null): string {
  const dir = join(tmp, `b${n++}`);
  mkdirSync(dir);
  if (config !== null) writeFileSync(join(dir, 'config.json'), config);
  return dir;
}

function minimal(): Record<string, unknown> {
  return {
    ociVersion: '1.3.0',
    root: { path: 'rootfs' },
    process: { cwd: '/', args: ['sh'], user: { uid: 0, gid: 0 } },
    linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }] },
  };
}

/** The problems of a ConfigError thrown by fn (fails the test when fn does not throw one). */
function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

function specProblems(doc: unknown): string[] {
  return problemsOf(() => parseSpec(JSON.stringify(doc), 'config.json'));
}

describe('loadBundle', () => {
  it('loads a valid minimal config and returns the absolute bundle path', () => {
    const dir = bundleWith(JSON.stringify(minimal()));
    const rel = join(dir, '..', `b${n - 1}`);
    const { spec, bundle } = loadBundle(rel);
    expect(bundle).toBe(dir);
    expect(spec.process?.args).toEqual(['sh']);
    expect(spec.root?.path).toBe('rootfs');
  });

  it('accepts the three client configs (ctr, podman, docker)', () => {
    for (const f of ['containerd-ctr-run', 'podman-run', 'docker-run']) {
      const file = fileURLToPath(new URL(`../../../shared/reference/client-configs/${f}.json`, import.meta.url));
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        continue; // reference folder absent (a user's machine): the other cases still run
      }
      expect(() => parseSpec(text, f)).not.toThrow();
    }
  });

  it('accepts a device fileMode with the file type bits, as podman --device and --privileged send it', () => {
    const doc = minimal();
    // stat's st_mode of /dev/fuse: S_IFCHR | 0666 (runc keeps the permission bits).
    (doc.linux as Record<string, unknown>).devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o020666, uid: 0, gid: 0 }];
    expect(() => parseSpec(JSON.stringify(doc), 'config.json')).not.toThrow();
    (doc.linux as Record<string, unknown>).devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 2 ** 32 }];
    expect(specProblems(doc)).toContain('/linux/devices/0/fileMode: must be <= 4294967295, got 4294967296');
  });

  it('names a missing bundle directory', () => {
    const missing = join(tmp, 'nope');
    expect(() => loadBundle(missing)).toThrow(`bundle ${missing}: no such file or directory`);
  });

  it('refuses a bundle that is a file', () => {
    const file = join(tmp, 'plain-file');
    writeFileSync(file, '');
    expect(() => loadBundle(file)).toThrow(`bundle ${file}: not a directory`);
  });

  it('names a missing config.json', () => {
    const dir = bundleWith(null);
    expect(() => loadBundle(dir)).toThrow(new TsrunError(`bundle ${dir}: cannot read config.json: no such file or directory`).message);
  });

  it.skipIf(process.getuid?.() === 0)('names an unreadable config.json (skipped: root reads anything)', () => {
    const dir = bundleWith('{}');
    chmodSync(join(dir, 'config.json'), 0);
    expect(() => loadBundle(dir)).toThrow('cannot read config.json: permission denied');
  });

  it('names a config.json that is a directory', () => {
    const dir = bundleWith(null);
    mkdirSync(join(dir, 'config.json'));
    expect(() => loadBundle(dir)).toThrow('cannot read config.json: is a directory');
  });
});

describe('invalid JSON', () => {
  it.each([
    ['{]', 1, 2],
    ['{\n  "ociVersion": "1.0.0",\n}', 3, 1],
    ['{\n  "a": tru\n}', 2, 11],
    ['{"a": "unterminated', 1, 20],
    ['', 1, 1],
    ['{} x', 1, 4],
  ])('%j reports line %i, column %i', (text, line, column) => {
    const problems = problemsOf(() => parseJson(text, 'config.json'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^invalid JSON at line ${line}, column ${column}: `));
  });

  it('renders as "config.json: invalid JSON ..." from loadBundle', () => {
    const dir = bundleWith('{\n "ociVersion": 1.0.0\n}');
    expect(() => loadBundle(dir)).toThrow(/^config\.json: invalid JSON at line 2, column 19: /);
  });
});

describe('schema errors name the JSON path', () => {
  it('top level must be an object', () => {
    expect(specProblems([])).toEqual(['/: must be an object, not an array']);
  });

  it('missing required field names the field', () => {
    const doc = minimal();
    delete doc.ociVersion;
    expect(specProblems(doc)).toContain('/ociVersion: is required');
  });

  it('wrong type says what it is', () => {
    const doc = minimal();
    (doc.process as Record<string, unknown>).cwd = 7;
    expect(specProblems(doc)).toContain('/process/cwd: must be a string, not an integer');
  });

  it('enum lists the allowed values', () => {
    const doc = minimal();
    (doc.linux as { namespaces: unknown[] }).namespaces.push({ type: 'bogus' });
    expect(specProblems(doc)).toContain('/linux/namespaces/2/type: must be one of pid, network, mount, ipc, uts, user, cgroup, time, got "bogus"');
  });

  it('range errors give the limit', () => {
    const doc = minimal();
    (doc.process as Record<string, unknown>).user = { uid: -1, gid: 0 };
    expect(specProblems(doc)).toContain('/process/user/uid: must be >= 0, got -1');
  });

  it('pattern errors give the pattern', () => {
    const doc = minimal();
    (doc.process as Record<string, unknown>).rlimits = [{ type: 'nofile', soft: 1, hard: 1 }];
    expect(specProblems(doc)).toContain('/process/rlimits/0/type: must match ^RLIMIT_[A-Z]+$, got "nofile"');
  });

  it('minItems errors', () => {
    const doc = minimal();
    (doc.linux as Record<string, unknown>).seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [], action: 'SCMP_ACT_ERRNO' }] };
    expect(specProblems(doc)).toContain('/linux/seccomp/syscalls/0/names: must contain at least 1 item');
  });

  it('escapes "/" in keys (RFC 6901)', () => {
    const doc = minimal();
    doc.annotations = { 'a/b': 1 };
    expect(specProblems(doc)).toContain('/annotations/a~1b: must be a string, not an integer');
  });

  it('reports every schema and semantic problem at once', () => {
    const doc = minimal();
    doc.ociVersion = '2.0.0';
    (doc.process as Record<string, unknown>).args = [];
    (doc.process as Record<string, unknown>).terminal = 'yes';
    (doc.linux as { namespaces: unknown[] }).namespaces.push({ type: 'pid' });
    const problems = specProblems(doc);
    expect(problems).toEqual(
      expect.arrayContaining([
        '/process/terminal: must be a boolean, not a string',
        '/ociVersion: major version 2 is not supported (tsrun implements runtime-spec 1.x)',
        '/process/args: must contain at least 1 item',
        '/linux/namespaces/2/type: duplicate namespace "pid" (also at /linux/namespaces/1)',
      ]),
    );
    expect(problems).toHaveLength(4);
  });

  it('does not report semantic noise about a value the schema already refused', () => {
    const doc = minimal();
    (doc.process as Record<string, unknown>).cwd = 5;
    expect(specProblems(doc)).toEqual(['/process/cwd: must be a string, not an integer']);
  });

  it('ConfigError message lists the problems under the file name', () => {
    const dir = bundleWith(JSON.stringify({ ociVersion: '1.0.0' }));
    expect(() => loadBundle(dir)).toThrow(/^config\.json: 2 problems:\n {2}\/root: is required on Linux\n {2}\/process: is required to create a container$/);
  });
});

describe('parseProcess', () => {
  it('accepts a valid process.json', () => {
    expect(parseProcess(JSON.stringify({ cwd: '/', args: ['ls'] }), 'process.json').args).toEqual(['ls']);
  });

  it('names problems relative to the process object', () => {
    const problems = problemsOf(() => parseProcess(JSON.stringify({ cwd: 'tmp', args: [], env: [1] }), 'process.json'));
    expect(problems).toEqual(['/env/0: must be a string, not an integer', '/args: must contain at least 1 item', '/cwd: must be an absolute path, got "tmp"']);
  });
});

describe('state documents', () => {
  const state = { ociVersion: '1.3.0', id: 'c1', status: 'running', pid: 42, bundle: '/b', annotations: { a: 'b' } };

  it('accepts a state tsrun writes', () => {
    expect(stateProblems(state)).toEqual([]);
    expect(validateState(state)).toBe(state);
  });

  it('refuses a truncated or corrupt state', () => {
    expect(stateProblems({ ociVersion: '1.3.0', id: 'c1' })).toEqual(['/status: is required', '/bundle: is required']);
    expect(stateProblems({ ...state, status: 'paused' })).toEqual([
      '/status: must be one of creating, created, running, stopped, got "paused"',
    ]);
    expect(() => validateState({ ...state, pid: -1 })).toThrow('state.json: /pid: must be >= 0, got -1');
  });
});
