/**
 * Global flags, command dispatch, help and error reporting. Each command lives in its own module,
 * loaded with a literal dynamic import so a command pays only for what it uses (esbuild turns each
 * into a lazy initialiser in the one-file bundle).
 */

import { writeSync } from 'node:fs';
import { defaultRoot } from '../rootless.js';
import { TsrunError, UsageError, describe } from '../errors.js';
import { configureLog, logDebug, logError, type LogFormat } from '../log.js';
import { flagHelp, parseArgs, str, bool, type FlagDef, type Parsed } from './args.js';
import { COMMANDS, findCommand, type CommandDef } from './commands.js';

export const VERSION = '0.1.0';
export const SPEC_VERSION = '1.3.0';
export const DEFAULT_ROOT = '/run/tsrun';

export interface Globals {
  root: string;
  log: string | null;
  logFormat: LogFormat;
  debug: boolean;
}

export interface CommandContext {
  globals: Globals;
  parsed: Parsed;
  args: string[];
}

export type CommandModule = { run(ctx: CommandContext): Promise<number> | number };

const GLOBAL_FLAGS: FlagDef[] = [
  { name: 'debug', kind: 'bool', usage: 'enable debug logging' },
  { name: 'log', kind: 'string', usage: "set the log file to write tsrun logs to (default is '/dev/stderr')" },
  { name: 'log-format', kind: 'string', usage: "set the log format ('text' (default), or 'json')", defaultText: '"text"' },
  { name: 'root', kind: 'string', usage: 'root directory for storage of container state (this should be located in tmpfs)', defaultText: `"${DEFAULT_ROOT}"` },
  { name: 'criu', kind: 'string', usage: 'path to the criu binary used for checkpoint and restore (not supported)' },
  { name: 'systemd-cgroup', kind: 'bool', usage: 'enable systemd cgroup support (not supported yet)' },
  { name: 'rootless', kind: 'string', usage: "ignore cgroup permission errors ('true', 'false', or 'auto')", defaultText: '"auto"' },
  { name: 'version', aliases: ['v'], kind: 'bool', usage: 'print the version' },
];

export function out(text: string): void {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) off += writeSync(1, buf, off);
}

function versionText(): string {
  return `tsrun version ${VERSION}\nspec: ${SPEC_VERSION}\n`;
}

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  const cmds = COMMANDS.map((c) => `   ${c.name.padEnd(width)}${c.summary}`).join('\n');
  return `NAME:
   tsrun - Open Container Initiative runtime

tsrun is a command line client for running applications packaged according to
the Open Container Initiative (OCI) format and is a compliant implementation of the
Open Container Initiative specification (runtime-spec ${SPEC_VERSION}), with runc's
command line.

USAGE:
   tsrun [global options] command [command options] [arguments...]

VERSION:
   ${VERSION}
spec: ${SPEC_VERSION}

COMMANDS:
${cmds}
   help, h${' '.repeat(Math.max(1, width - 7))}Shows a list of commands or help for one command

GLOBAL OPTIONS:
${flagHelp([...GLOBAL_FLAGS.filter((f) => f.name !== 'version'), { name: 'help', aliases: ['h'], kind: 'bool', usage: 'show help' }, GLOBAL_FLAGS.at(-1) as FlagDef])}
`;
}

export function commandHelp(c: CommandDef): string {
  const opts = c.flags.length > 0 ? ' [command options]' : '';
  let text = `NAME:\n   tsrun ${c.name} - ${c.summary}\n\nUSAGE:\n   tsrun ${c.name}${opts} ${c.argsUsage}\n`;
  if (c.description) text += `\n${c.description}\n`;
  if (c.flags.length > 0) text += `\nOPTIONS:\n${flagHelp(c.flags)}\n`;
  return text;
}

function parseGlobals(p: Parsed): Globals {
  const fmt = str(p, 'log-format') ?? 'text';
  if (fmt !== 'text' && fmt !== 'json') throw new UsageError(`invalid log-format: ${fmt} (want text or json)`);
  const root = str(p, 'root') ?? defaultRoot();
  if (root === '') throw new UsageError('--root: must not be empty');
  return { root, log: str(p, 'log') ?? null, logFormat: fmt, debug: bool(p, 'debug') };
}

function checkArgCount(c: CommandDef, args: string[]): void {
  if (args.length < c.minArgs || args.length > c.maxArgs) {
    const want = c.minArgs === c.maxArgs ? `exactly ${c.minArgs}` : c.maxArgs === Infinity ? `at least ${c.minArgs}` : `${c.minArgs} to ${c.maxArgs}`;
    throw new UsageError(`tsrun: "${c.name}" requires ${want} argument(s)`);
  }
}

async function load(name: string): Promise<CommandModule> {
  switch (name) {
    case 'create': return import('./create.js');
    case 'delete': return import('./delete.js');
    case 'events': return import('./events.js');
    case 'exec': return import('./exec.js');
    case 'features': return import('./features.js');
    case 'kill': return import('./kill.js');
    case 'list': return import('./list.js');
    case 'pause': return import('./pause.js');
    case 'ps': return import('./ps.js');
    case 'resume': return import('./resume.js');
    case 'run': return import('./run.js');
    case 'spec': return import('./spec.js');
    case 'start': return import('./start.js');
    case 'state': return import('./state.js');
    case 'update': return import('./update.js');
    default: throw new UsageError(`No help topic for '${name}'`);
  }
}

/** Runs the command line; returns the exit status. Errors are logged here, once. */
export async function main(argv: string[]): Promise<number> {
  try {
    const g = parseArgs(argv, GLOBAL_FLAGS, { stopAtPositional: true });
    const globals = parseGlobals(g);
    configureLog({ file: globals.log, format: globals.logFormat, debug: globals.debug });
    if (bool(g, 'version')) return out(versionText()), 0;
    const [name, ...rest] = g.args;
    if (name === undefined || g.help) return out(mainHelp()), 0;
    if (name === 'help' || name === 'h') {
      const c = rest[0] !== undefined ? findCommand(rest[0]) : undefined;
      return out(c ? commandHelp(c) : mainHelp()), 0;
    }
    if (bool(g, 'systemd-cgroup')) throw new UsageError('--systemd-cgroup: the systemd cgroup driver is not supported yet');
    const cmd = findCommand(name);
    if (!cmd) throw new UsageError(`No help topic for '${name}'`);
    if (cmd.notImplemented) throw new TsrunError(`tsrun: ${name}: not implemented yet`);
    const parsed = parseArgs(rest, cmd.flags, { stopAtPositional: cmd.stopAtPositional ?? false });
    if (parsed.help) return out(commandHelp(cmd)), 0;
    checkArgCount(cmd, parsed.args);
    logDebug(`command ${name} ${parsed.args.join(' ')}`);
    const mod = await load(name);
    return await mod.run({ globals, parsed, args: parsed.args });
  } catch (e) {
    logError(describe(e));
    if (e instanceof Error && e.stack) logDebug(e.stack);
    return e instanceof TsrunError ? e.exitCode : 1;
  }
}
