/**
 * runc-compatible flag parsing (urfave/cli over Go's flag package): `--flag value`, `--flag=value`,
 * `-flag value` (Go accepts one dash for long names), short aliases (`-b`), booleans that never take
 * the next word (`--detach=false` works), `--` ends the flags. Errors name the flag.
 */

import { UsageError } from '../errors.js';

/** 'list': a string flag that may repeat (Go's StringSlice: `-e A -e B`), values in order. */
export type FlagKind = 'bool' | 'string' | 'int' | 'list';

export interface FlagDef {
  name: string;
  /** Other spellings, e.g. ['b'] for --bundle. */
  aliases?: string[];
  kind: FlagKind;
  usage: string;
  /** Shown in help as `(default: ...)`. */
  defaultText?: string;
}

export type FlagValue = string | boolean | number | string[];

export interface Parsed {
  values: Record<string, FlagValue>;
  args: string[];
  help: boolean;
}

export interface ParseOptions {
  /** Stop at the first positional word (the global flags end at the command name). */
  stopAtPositional: boolean;
}

function findFlag(defs: readonly FlagDef[], name: string): FlagDef | undefined {
  return defs.find((d) => d.name === name || d.aliases?.includes(name));
}

function convert(def: FlagDef, raw: string): FlagValue {
  if (def.kind === 'int') {
    if (!/^-?\d+$/.test(raw)) throw new UsageError(`invalid value ${JSON.stringify(raw)} for flag -${def.name}: parse error`);
    return Number(raw);
  }
  if (def.kind === 'bool') {
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    throw new UsageError(`invalid boolean value ${JSON.stringify(raw)} for -${def.name}: parse error`);
  }
  return raw;
}

export function parseArgs(argv: readonly string[], defs: readonly FlagDef[], opts: ParseOptions): Parsed {
  const values: Record<string, FlagValue> = {};
  const args: string[] = [];
  let help = false;
  let i = 0;
  while (i < argv.length) {
    const word = argv[i++] as string;
    if (word === '--') {
      args.push(...argv.slice(i));
      break;
    }
    if (!word.startsWith('-') || word === '-') {
      args.push(word);
      if (opts.stopAtPositional) {
        args.push(...argv.slice(i));
        break;
      }
      continue;
    }
    const body = word.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (name === 'help' || name === 'h') {
      help = true;
      continue;
    }
    const def = findFlag(defs, name);
    if (!def) throw new UsageError(`flag provided but not defined: -${name}`);
    if (def.kind === 'list') {
      if (eq < 0 && i >= argv.length) throw new UsageError(`flag needs an argument: -${name}`);
      const prev = values[def.name];
      values[def.name] = [...(Array.isArray(prev) ? prev : []), eq >= 0 ? body.slice(eq + 1) : (argv[i++] as string)];
    } else if (eq >= 0) {
      values[def.name] = convert(def, body.slice(eq + 1));
    } else if (def.kind === 'bool') {
      values[def.name] = true;
    } else {
      if (i >= argv.length) throw new UsageError(`flag needs an argument: -${name}`);
      values[def.name] = convert(def, argv[i++] as string);
    }
  }
  return { values, args, help };
}

/** Help lines for flags in runc's layout: `--bundle value, -b value  usage`. */
export function flagHelp(defs: readonly FlagDef[]): string {
  const left = defs.map((d) => {
    const v = d.kind === 'bool' ? '' : ' value';
    const names = [d.name, ...(d.aliases ?? [])].map((n) => (n.length === 1 ? `-${n}${v}` : `--${n}${v}`));
    return names.join(', ');
  });
  const width = Math.max(0, ...left.map((l) => l.length));
  return defs
    .map((d, i) => {
      const dflt = d.defaultText !== undefined ? ` (default: ${d.defaultText})` : '';
      return `   ${(left[i] as string).padEnd(width)}  ${d.usage}${dflt}`;
    })
    .join('\n');
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function bool(p: Parsed, name: string): boolean {
  return p.values[name] === true;
}

export function int(p: Parsed, name: string, dflt: number): number {
  const v = p.values[name];
  return typeof v === 'number' ? v : dflt;
}

/** Every value of a repeatable ('list') flag, in command-line order. */
export function list(p: Parsed, name: string): string[] {
  const v = p.values[name];
  return Array.isArray(v) ? v : [];
}
