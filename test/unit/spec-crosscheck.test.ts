/**
 * Our schemas (schemas/, precompiled into src/spec/generated/) against the upstream runtime-spec
 * v1.3.0 JSON schema, verdict by verdict (schema level only; validate.ts's semantic rules are
 * tested in spec-semantic.test.ts). Corpus: upstream's test/ good and bad documents, the three
 * client configs, and fast-check mutations of the client configs.
 *
 * Deliberate differences (each is a place where we follow the spec text or tsrun's scope):
 *  D1 Non-Linux platform objects (solaris, windows, vm, zos, freebsd) are only checked to be
 *     objects: tsrun runs Linux containers and ignores them, so their inner shape cannot make a
 *     Linux config unusable. Upstream validates them (its bad/freebsd-vnet-disable.json).
 *  D2 String maps (annotations, linux.sysctl, linux.resources.unified): config.md says values MUST
 *     be strings; upstream's patternProperties ".{1,}" does not apply to the empty key (or a key of
 *     only newlines), so it lets a non-string value through there. We refuse it for every key.
 *  D3 Features documents: upstream enumerates seccomp actions/operators/archs/flags; we only
 *     require arrays of strings (the features document is one tsrun writes itself, and
 *     features.md lets a runtime list names newer than the schema).
 * Everything else must agree exactly.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateConfig, validateFeatures, validateState } from '../../src/spec/generated/validators.js';
import type { Spec } from '../../src/spec/types.js';
import { semanticProblems } from '../../src/spec/validate.js';

const repo = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const refDir = resolve(repo, '../shared/reference/runtime-spec-v1.3.0-schema');
const clientDir = resolve(repo, '../shared/reference/client-configs');
const haveRef = existsSync(join(refDir, 'config-schema.json'));

type Check = (doc: unknown) => boolean;
interface Upstream {
  config: Check;
  state: Check;
  features: Check;
}

/** Compiles the upstream draft-04 schemas with ajv-draft-04 (a devDependency). */
function loadUpstream(): Upstream {
  const require = createRequire(import.meta.url);
  const mod = require('ajv-draft-04') as { default: new (opts: object) => AjvLike };
  const ajv = new mod.default({ allErrors: true, strict: false, validateFormats: false });
  for (const f of readdirSync(refDir).filter((n) => n.endsWith('.json'))) {
    // Upstream defs.json's (unused) ArrayOfUint32 refers to "#definitions/uint32", missing a "/";
    // ajv compiles the whole file, so that typo is fixed in memory before loading.
    const text = readFileSync(join(refDir, f), 'utf8').replace('"#definitions/', '"#/definitions/');
    ajv.addSchema(JSON.parse(text), f);
  }
  const get = (key: string): Check => {
    const v = ajv.getSchema(key);
    if (v === undefined) throw new Error(`upstream schema ${key} missing`);
    return (doc) => v(doc) as boolean;
  };
  return { config: get('config-schema.json'), state: get('state-schema.json'), features: get('features-schema.json') };
}

interface AjvLike {
  addSchema(schema: unknown, key: string): unknown;
  getSchema(key: string): ((doc: unknown) => unknown) | undefined;
}

function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** Verdict of a file: null when it is not even JSON (both sides refuse it before any schema). */
function parseOrNull(file: string): unknown {
  try {
    return readJson(file);
  } catch {
    return null;
  }
}

function corpus(kind: string, verdict: 'good' | 'bad'): { name: string; doc: unknown }[] {
  const dir = join(refDir, 'test', kind, verdict);
  return readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .map((name) => ({ name, doc: parseOrNull(join(dir, name)) }));
}

const ours = { config: validateConfig as Check, state: validateState as Check, features: validateFeatures as Check };

/** D1: a document whose only disagreement can come from a non-Linux platform object. */
const NON_LINUX = ['solaris', 'windows', 'vm', 'zos', 'freebsd'];

describe.skipIf(!haveRef)('schema cross-check with upstream runtime-spec v1.3.0 (skipped: ../shared/reference absent)', () => {
  const up = haveRef ? loadUpstream() : (undefined as never);

  it.each(['config', 'state', 'features'] as const)('upstream good/bad %s corpus', (kind) => {
    for (const verdict of ['good', 'bad'] as const) {
      for (const { name, doc } of corpus(kind, verdict)) {
        const expected = verdict === 'good';
        if (doc === null) {
          expect(expected, `${kind}/${verdict}/${name} is not JSON`).toBe(false);
          continue;
        }
        expect(up[kind](doc), `upstream on ${kind}/${verdict}/${name}`).toBe(expected);
        const deliberate = kind === 'config' && NON_LINUX.some((p) => name.startsWith(p));
        if (!deliberate) expect(ours[kind](doc), `ours on ${kind}/${verdict}/${name}`).toBe(expected);
      }
    }
  });

  it('D1: non-Linux platform objects are not validated by us (upstream refuses freebsd-vnet-disable)', () => {
    const doc = parseOrNull(join(refDir, 'test/config/bad/freebsd-vnet-disable.json'));
    expect(up.config(doc)).toBe(false);
    expect(ours.config(doc)).toBe(true);
  });

  it('D2: non-string value under an empty map key', () => {
    const doc = { ociVersion: '1.3.0', annotations: { '': 1 } };
    expect(up.config(doc)).toBe(true);
    expect(ours.config(doc)).toBe(false);
  });

  it('D3: features seccomp names are free strings for us, an enum upstream', () => {
    const doc = { ociVersionMin: '1.0.0', ociVersionMax: '1.3.0', linux: { seccomp: { actions: ['SCMP_ACT_FUTURE'] } } };
    expect(up.features(doc)).toBe(false);
    expect(ours.features(doc)).toBe(true);
  });

  it('the three client configs pass both', () => {
    for (const f of readdirSync(clientDir)) {
      const doc = readJson(join(clientDir, f));
      expect(up.config(doc), `upstream on ${f}`).toBe(true);
      expect(ours.config(doc), `ours on ${f}`).toBe(true);
    }
  });

  it('agrees on >= 300 generated mutations of the client configs', () => {
    const bases = readdirSync(clientDir).map((f) => readJson(join(clientDir, f)));
    const mutations = fc.sample(mutationArb(bases), { numRuns: 400, seed: 20261123 });
    let rejected = 0;
    const disagreements: string[] = [];
    for (const m of mutations) {
      const u = up.config(m.doc);
      const o = ours.config(m.doc);
      if (!u) rejected++;
      // Whatever passes our schema must be safe for the semantic checks (they trust the schema).
      if (o) expect(() => semanticProblems(m.doc as Spec), m.describe).not.toThrow();
      if (u !== o && !isDeliberate(m)) disagreements.push(`${m.describe}: upstream ${u}, ours ${o}`);
    }
    expect(disagreements).toEqual([]);
    expect(mutations.length).toBeGreaterThanOrEqual(300);
    // The corpus must exercise refusals, not only harmless edits.
    expect(rejected).toBeGreaterThan(100);
    expect(rejected).toBeLessThan(mutations.length);
  });

  it('agrees on mutations of upstream good Linux configs (fields the clients do not use)', () => {
    const names = ['spec-example.json', 'linux-rdma.json', 'linux-netdevice.json', 'minimal.json'];
    const bases = names.map((n) => readJson(join(refDir, 'test/config/good', n)));
    const mutations = fc.sample(mutationArb(bases), { numRuns: 600, seed: 1302 });
    const disagreements = mutations
      .filter((m) => up.config(m.doc) !== ours.config(m.doc) && !isDeliberate(m))
      .map((m) => `${m.describe}: upstream ${up.config(m.doc)}, ours ${ours.config(m.doc)}`);
    expect(disagreements).toEqual([]);
    const rejected = mutations.filter((m) => !up.config(m.doc)).length;
    expect(rejected).toBeGreaterThan(100);
    expect(rejected).toBeLessThan(mutations.length);
  });
});

// ---- mutation generator ----

interface Mutation {
  doc: unknown;
  pointer: string[];
  kind: string;
  describe: string;
}

const ODD_VALUES: unknown[] = ['x', '', 'BOGUS_VALUE', 7, 0, -1, -2147483649, 1.5, 2 ** 64, true, false, null, [], {}, ['x'], [1], { a: 1 }];

const KINDS = ['replace', 'delete', 'negative', 'huge', 'extra', 'emptyArray', 'wrongItem', 'badEnum'] as const;

/** All container paths of a document, grouped by shape (array indices collapsed), so that a big
 *  seccomp list does not drown the rarer fields. */
function pathsByShape(doc: unknown): Map<string, string[][]> {
  const out = new Map<string, string[][]>();
  const walk = (v: unknown, path: string[]): void => {
    if (path.length > 0) {
      const shape = path.map((k) => (/^\d+$/.test(k) ? '*' : k)).join('/');
      const list = out.get(shape) ?? [];
      list.push(path);
      out.set(shape, list);
    }
    if (v !== null && typeof v === 'object') for (const [k, c] of Object.entries(v)) walk(c, [...path, k]);
  };
  walk(doc, []);
  return out;
}

function mutationArb(bases: unknown[]): fc.Arbitrary<Mutation> {
  const shaped = bases.map((b) => ({ base: b, shapes: [...pathsByShape(b).values()] }));
  return fc
    .record({
      which: fc.nat({ max: shaped.length - 1 }),
      shape: fc.nat(),
      instance: fc.nat(),
      kind: fc.constantFrom(...KINDS),
      odd: fc.oneof(fc.constantFrom(...ODD_VALUES), fc.jsonValue({ maxDepth: 2 })),
    })
    .map(({ which, shape, instance, kind, odd }) => {
      const { base, shapes } = shaped[which]!;
      const group = shapes[shape % shapes.length]!;
      const pointer = group[instance % group.length]!;
      const doc = structuredClone(base);
      apply(doc, pointer, kind, odd);
      return { doc, pointer, kind, describe: `${kind} at /${pointer.join('/')} (${JSON.stringify(odd)?.slice(0, 40)})` };
    });
}

function apply(doc: unknown, pointer: string[], kind: (typeof KINDS)[number], odd: unknown): void {
  const parent = pointer.slice(0, -1).reduce<Record<string, unknown>>((o, k) => o[k] as Record<string, unknown>, doc as Record<string, unknown>);
  const key = pointer[pointer.length - 1]!;
  const cur = parent[key];
  switch (kind) {
    case 'replace':
      parent[key] = odd;
      break;
    case 'delete':
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
      break;
    case 'negative':
      parent[key] = typeof cur === 'number' ? -1 - cur : -1;
      break;
    case 'huge':
      parent[key] = 2 ** 65;
      break;
    case 'extra':
      if (cur !== null && typeof cur === 'object' && !Array.isArray(cur)) (cur as Record<string, unknown>).zzExtraField = odd;
      else parent[key] = { zzExtraField: odd };
      break;
    case 'emptyArray':
      parent[key] = [];
      break;
    case 'wrongItem':
      parent[key] = Array.isArray(cur) ? [...cur, odd] : [odd];
      break;
    case 'badEnum':
      parent[key] = typeof cur === 'string' ? `${cur}_BOGUS` : 'BOGUS';
      break;
  }
}

/** Whether a disagreement is one of the documented deliberate differences. */
function isDeliberate(m: Mutation): boolean {
  if (NON_LINUX.includes(m.pointer[0]!)) return true; // D1
  // D2: a map whose (new) empty or newline-only key holds a non-string.
  const mapRoots = ['annotations', 'linux/sysctl', 'linux/resources/unified'];
  const at = m.pointer.join('/');
  const map = mapRoots.find((r) => at === r || at.startsWith(`${r}/`));
  if (map === undefined) return false;
  const obj = map.split('/').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], m.doc);
  return obj !== null && typeof obj === 'object' && Object.entries(obj).some(([k, v]) => !/[^\n\r\u2028\u2029]/.test(k) && typeof v !== 'string');
}
