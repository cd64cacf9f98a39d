/**
 * The state and features schemas against the documents tsrun produces: the runtime.md state
 * (`tsrun state`, hooks' stdin), runc's wider `state` output, and the `tsrun features` document.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { validateFeatures, validateState } from '../../src/spec/generated/validators.js';
import { featuresProblems, stateProblems } from '../../src/spec/load.js';
import type { Features, State } from '../../src/spec/types.js';

describe('state schema', () => {
  const created: State = { ociVersion: '1.3.0', id: 'abc', status: 'created', pid: 4242, bundle: '/srv/bundle' };

  it.each<[string, State]>([
    ['created with pid', created],
    ['running with annotations', { ...created, status: 'running', annotations: { 'org.example': 'x' } }],
    ['stopped without pid', { ociVersion: '1.3.0', id: 'abc', status: 'stopped', bundle: '/srv/bundle' }],
    ['creating', { ...created, status: 'creating' }],
  ])('accepts %s', (_name, state) => {
    expect(validateState(state)).toBe(true);
  });

  it('accepts runc-style state output (extra fields are allowed)', () => {
    const runc = { ...created, rootfs: '/srv/bundle/rootfs', created: '2026-11-23T14:00:00Z', owner: '' };
    expect(stateProblems(runc)).toEqual([]);
  });

  it.each<[string, unknown, string]>([
    ['missing id', { ...created, id: undefined }, '/id: is required'],
    ['unknown status', { ...created, status: 'paused' }, '/status: must be one of creating, created, running, stopped, got "paused"'],
    ['negative pid', { ...created, pid: -5 }, '/pid: must be >= 0, got -5'],
    ['non-integer pid', { ...created, pid: 1.5 }, '/pid: must be an integer, not a number'],
    ['non-string annotation', { ...created, annotations: { a: 1 } }, '/annotations/a: must be a string, not an integer'],
    ['truncated to a string', 'created', '/: must be an object, not a string'],
    ['running without pid', { ...created, status: 'running', pid: undefined }, '/pid: is required when status is running'],
  ])('refuses %s', (_name, doc, problem) => {
    expect(stateProblems(JSON.parse(JSON.stringify(doc)))).toEqual([problem]);
  });
});

describe('features schema', () => {
  const minimal: Features = { ociVersionMin: '1.0.0', ociVersionMax: '1.3.0' };

  it('accepts the minimal and a full document', () => {
    expect(validateFeatures(minimal)).toBe(true);
    const full: Features = {
      ...minimal,
      hooks: ['prestart', 'poststop'],
      mountOptions: ['ro', 'rbind'],
      annotations: { 'io.tsrun.version': '0.1.0' },
      potentiallyUnsafeConfigAnnotations: ['org.systemd.property.'],
      linux: {
        namespaces: ['pid', 'user'],
        capabilities: ['CAP_CHOWN'],
        cgroup: { v1: false, v2: true, systemd: false, systemdUser: false, rdma: false },
        seccomp: { enabled: true, actions: ['SCMP_ACT_ALLOW'], operators: ['SCMP_CMP_EQ'], archs: ['SCMP_ARCH_X86_64'], knownFlags: [], supportedFlags: [] },
        apparmor: { enabled: false },
        selinux: { enabled: false },
        intelRdt: { enabled: false, schemata: false },
        memoryPolicy: { modes: ['MPOL_BIND'], flags: [] },
        mountExtensions: { idmap: { enabled: true } },
        netDevices: { enabled: true },
      },
    };
    expect(featuresProblems(full)).toEqual([]);
  });

  it('refuses a document without ociVersionMax, or with wrong shapes', () => {
    expect(featuresProblems({ ociVersionMin: '1.0.0' })).toEqual(['/ociVersionMax: is required']);
    expect(featuresProblems({ ...minimal, linux: { namespaces: ['bogus'], capabilities: ['chown'], cgroup: { v2: 'yes' } } })).toEqual([
      '/linux/namespaces/0: must be one of pid, network, mount, ipc, uts, user, cgroup, time, got "bogus"',
      '/linux/capabilities/0: must match ^CAP_[A-Z_]+$, got "chown"',
      '/linux/cgroup/v2: must be a boolean, not a string',
    ]);
  });

  const featuresModule = fileURLToPath(new URL('../../src/cli/features.ts', import.meta.url));
  it.skipIf(!existsSync(featuresModule))('the document `tsrun features` prints is valid (skipped: src/cli/features.ts absent)', async () => {
    const mod = (await import('../../src/cli/features.js')) as { featuresDocument(): unknown };
    expect(featuresProblems(mod.featuresDocument())).toEqual([]);
  });
});
