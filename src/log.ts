/**
 * Logging as runc does it (logrus): `--log FILE` (appended), `--log-format text|json`, `--debug`.
 * containerd's shim and podman read the JSON form and show the `msg` of the last error line, so the
 * keys and their spelling matter: {"level":"error","msg":"...","time":"2026-01-02T03:04:05Z"}.
 * Errors also always go to stderr (text form), whatever --log says.
 */

import { closeSync, openSync, writeSync } from 'node:fs';

export type LogFormat = 'text' | 'json';
export type Level = 'debug' | 'info' | 'warning' | 'error';

interface LogConfig {
  file: string | null;
  format: LogFormat;
  debug: boolean;
}

const config: LogConfig = { file: null, format: 'text', debug: false };
let fileFd: number | null = null;

export function configureLog(c: Partial<LogConfig>): void {
  Object.assign(config, c);
  if (fileFd !== null) {
    closeSync(fileFd);
    fileFd = null;
  }
}

/** RFC 3339 with whole seconds, as logrus' default TimestampFormat. */
function timestamp(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** logrus quotes a text value with Go's %q when it holds anything but [\w./@-]. */
function quoteText(v: string): string {
  return JSON.stringify(v);
}

export function formatLine(level: Level, msg: string, format: LogFormat, now = new Date()): string {
  if (format === 'json') return JSON.stringify({ level, msg, time: timestamp(now) }) + '\n';
  return `time=${quoteText(timestamp(now))} level=${level} msg=${quoteText(msg)}\n`;
}

function toFile(level: Level, msg: string): void {
  if (config.file === null) return;
  try {
    // O_APPEND: several tsrun processes may share one log file (the shim's log.json).
    if (fileFd === null) fileFd = openSync(config.file, 'a', 0o600);
    writeSync(fileFd, formatLine(level, msg, config.format));
  } catch {
    // A log file we cannot write must not hide the original error; stderr still gets it.
  }
}

function toStderr(level: Level, msg: string): void {
  try {
    writeSync(2, formatLine(level, msg, 'text'));
  } catch {
    // stderr closed: nothing more we can do.
  }
}

export function logError(msg: string): void {
  toFile('error', msg);
  // With --log the file is the primary sink, but clients (and people) still read stderr.
  toStderr('error', msg);
}

export function logWarn(msg: string): void {
  toFile('warning', msg);
  if (config.file === null) toStderr('warning', msg);
}

export function logDebug(msg: string): void {
  if (!config.debug) return;
  toFile('debug', msg);
  if (config.file === null) toStderr('debug', msg);
}

export function debugEnabled(): boolean {
  return config.debug;
}
