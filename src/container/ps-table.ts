/** runc's `ps` table: the host's `ps` output (default `ps -ef`), header plus the rows whose PID
 *  column is one of the container's pids. */

import { spawnSync } from 'node:child_process';
import { TsrunError } from '../errors.js';

export function psTable(pids: readonly number[], psArgs: readonly string[]): string {
  const args = psArgs.length > 0 ? [...psArgs] : ['-ef'];
  const r = spawnSync('ps', args, { encoding: 'utf8' });
  if (r.error) throw new TsrunError(`running ps: ${r.error.message}`);
  const output = `${r.stdout}${r.stderr}`;
  if (r.status !== 0) throw new TsrunError(`ps ${args.join(' ')}: exit status ${r.status ?? r.signal}: ${output.trim()}`);
  return filterRows(r.stdout, pids);
}

export function filterRows(output: string, pids: readonly number[]): string {
  const lines = output.split('\n');
  const header = lines[0] ?? '';
  const pidIndex = header.trim().split(/\s+/).indexOf('PID');
  if (pidIndex < 0) throw new TsrunError("couldn't find PID field in ps output");
  const want = new Set(pids);
  const rows = [header];
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const field = line.trim().split(/\s+/)[pidIndex] ?? '';
    const pid = Number.parseInt(field, 10);
    if (!/^\d+$/.test(field)) throw new TsrunError(`unable to parse pid: ${JSON.stringify(field)}`);
    if (want.has(pid)) rows.push(line);
  }
  return rows.join('\n') + '\n';
}
