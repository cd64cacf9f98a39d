/**
 * Reading and validating the documents tsrun gets from outside: a bundle's config.json, a
 * process.json (exec --process) and the state.json tsrun wrote itself.
 *
 * Order (so that bad input leaves nothing behind): read, parse (line/column on a syntax error),
 * schema-check with the validators precompiled from schemas/ (every error at once), then the
 * semantic checks of validate.ts. Nothing here creates anything.
 *
 * This is the only importer of the generated validators: commands that never read a config
 * (state, list, kill) do not import this module, so they never load ~100 KB of validator code.
 */
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, TsrunError, describe } from '../errors.js';
import { validateConfig, validateProcess, validateResources } from './generated/config-validator.js';
import type { SchemaError, Validator } from './generated/config-validator.js';
import { validateFeatures } from './generated/features-validator.js';
import { validateState as validateStateSchema } from './generated/state-validator.js';
import type { LinuxResources, Process, Spec, State } from './types.js';
import { pointerToken, processProblems, semanticProblems } from './validate.js';

/** Reads and validates <bundleDir>/config.json; `bundle` is the absolute bundle path. */
export function loadBundle(bundleDir: string): { spec: Spec; bundle: string } {
  const bundle = resolve(bundleDir);
  let isDir: boolean;
  try {
    isDir = statSync(bundle).isDirectory();
  } catch (e) {
    throw new TsrunError(`bundle ${bundle}`, { cause: sysMessage(e) });
  }
  if (!isDir) throw new TsrunError(`bundle ${bundle}: not a directory`);
  const file = join(bundle, 'config.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new TsrunError(`bundle ${bundle}: cannot read config.json`, { cause: sysMessage(e) });
  }
  return { spec: parseSpec(text, 'config.json'), bundle };
}

/** Parses and fully validates a config.json text; `file` names it in errors. */
export function parseSpec(text: string, file: string): Spec {
  const doc = parseJson(text, file);
  const schema = schemaProblems(validateConfig, doc);
  const semantic = bestEffort(schema, () => semanticProblems(doc as Spec));
  if (schema.length + semantic.length > 0) throw new ConfigError(file, [...schema, ...semantic]);
  return doc as Spec;
}

/** Semantic checks assume schema-valid input. When the schema already failed they still run, so
 *  the user sees every problem at once, but only problems away from the schema errors are kept
 *  (a wrong-typed value says nothing sensible about itself), and a check that trips over a
 *  wrong-typed value gives up silently: the schema errors are reported either way. */
function bestEffort(schema: string[], run: () => string[]): string[] {
  if (schema.length === 0) return run();
  let found: string[];
  try {
    found = run();
  } catch {
    return [];
  }
  const bad = schema.map((line) => line.slice(0, line.indexOf(': ')));
  const related = (a: string, b: string): boolean => a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`) || b === '/';
  return found.filter((line) => {
    const at = line.slice(0, line.indexOf(': '));
    return !bad.some((b) => related(at, b));
  });
}

/** Parses and validates a process.json (runtime-spec "process" object, for exec --process). */
export function parseProcess(text: string, file: string): Process {
  const doc = parseJson(text, file);
  const schema = schemaProblems(validateProcess, doc);
  const semantic = bestEffort(schema, () => processProblems(doc as Process));
  if (schema.length + semantic.length > 0) throw new ConfigError(file, [...schema, ...semantic]);
  return doc as Process;
}

/** Parses and schema-checks a linux.resources object (`update --resources`, as dockerd sends it). */
export function parseResources(text: string, file: string): LinuxResources {
  const doc = parseJson(text, file);
  const schema = schemaProblems(validateResources, doc);
  if (schema.length > 0) throw new ConfigError(file, schema);
  return doc as LinuxResources;
}

/** Schema problems of a state document ([] when valid); the cli uses it to spot a corrupt state.json. */
export function stateProblems(obj: unknown): string[] {
  const problems = schemaProblems(validateStateSchema, obj);
  if (problems.length > 0) return problems;
  const st = obj as State;
  // runtime.md "State": pid is REQUIRED on Linux when the status is created or running.
  if ((st.status === 'created' || st.status === 'running') && st.pid === undefined) problems.push(`/pid: is required when status is ${st.status}`);
  return problems;
}

/** Returns obj typed as State, or throws ConfigError('state.json', problems). */
export function validateState(obj: unknown): State {
  const problems = stateProblems(obj);
  if (problems.length > 0) throw new ConfigError('state.json', problems);
  return obj as State;
}

/** Schema problems of a features document ([] when valid). */
export function featuresProblems(obj: unknown): string[] {
  return schemaProblems(validateFeatures, obj);
}

/** JSON.parse with a "line L, column C" message; the top level must be an object. */
export function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const offset = syntaxErrorOffset(text);
    const { line, column } = lineColumn(text, offset);
    const reason = describe(e).replace(/ in JSON at position \d+.*$/, '').replace(/, ".*" is not valid JSON$/, '');
    throw new ConfigError(file, [`invalid JSON at line ${line}, column ${column}: ${reason}`]);
  }
}

function sysMessage(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'ENOTDIR') return 'not a directory';
  if (code === 'EISDIR') return 'is a directory';
  return describe(e);
}

// ---- schema errors -> "<json pointer>: <what is wrong>" ----

function schemaProblems(validate: Validator, doc: unknown): string[] {
  if (validate(doc)) return [];
  const out: string[] = [];
  for (const err of validate.errors ?? []) {
    const line = formatSchemaError(err, doc);
    if (!out.includes(line)) out.push(line);
  }
  return out;
}

function formatSchemaError(err: SchemaError, doc: unknown): string {
  const at = err.instancePath === '' ? '/' : err.instancePath;
  const got = valueAt(doc, err.instancePath);
  const p = err.params;
  switch (err.keyword) {
    case 'required': {
      const base = err.instancePath === '' ? '' : err.instancePath;
      return `${base}/${pointerToken(String(p.missingProperty))}: is required`;
    }
    case 'type':
      return `${at}: must be ${article(String(p.type))}, not ${kindOf(got)}`;
    case 'enum':
      return `${at}: must be one of ${(p.allowedValues as unknown[]).join(', ')}, got ${show(got)}`;
    case 'minimum':
    case 'maximum':
      return `${at}: must be ${String(p.comparison)} ${String(p.limit)}, got ${show(got)}`;
    case 'pattern':
      return `${at}: must match ${String(p.pattern)}, got ${show(got)}`;
    case 'minItems':
      return `${at}: must contain at least ${String(p.limit)} item${p.limit === 1 ? '' : 's'}`;
    default:
      return `${at}: ${err.message ?? err.keyword}`;
  }
}

function valueAt(doc: unknown, pointer: string): unknown {
  let cur: unknown = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a number';
  return article(typeof v);
}

function article(type: string): string {
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

// ---- JSON syntax error position ----

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - (before.lastIndexOf('\n') + 1) + 1 };
}

/** Offset of the first JSON syntax error (RFC 8259 grammar), found by a small scanner because
 *  V8's messages do not always carry a position. Only runs after JSON.parse failed. */
function syntaxErrorOffset(text: string): number {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const lit = (word: string): void => {
    for (const ch of word) if (text[i++] !== ch) (i--, fail());
  };
  const str = (): void => {
    i++;
    for (;;) {
      const c = text[i];
      if (c === undefined || c < ' ') fail();
      if (c === '"') return void i++;
      if (c === '\\') {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) fail();
      }
      i++;
    }
  };
  const num = (): void => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (m === null || m[0] === '' || m[0] === '-') fail();
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') return seq('}', () => {
      ws();
      if (text[i] !== '"') fail();
      str();
      ws();
      if (text[i] !== ':') fail();
      i++;
      value();
    });
    if (c === '[') return seq(']', value);
    if (c === '"') return str();
    if (c === 't') return lit('true');
    if (c === 'f') return lit('false');
    if (c === 'n') return lit('null');
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return num();
    fail();
  };
  const seq = (close: string, item: () => void): void => {
    i++;
    ws();
    if (text[i] === close) return void i++;
    for (;;) {
      item();
      ws();
      if (text[i] === ',') i++;
      else if (text[i] === close) return void i++;
      else fail();
    }
  };
  try {
    value();
    ws();
    return i < text.length ? i : text.length;
  } catch (pos) {
    return Math.min(pos as number, text.length);
  }
}
