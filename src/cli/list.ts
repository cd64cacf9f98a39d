/** `tsrun list [--format table|json] [--quiet]`: runc's table (Go tabwriter, min width 12,
 *  padding 3), its JSON (an array of containerState, `null` when empty) or ids only. */

import { UsageError } from '../errors.js';
import { loadContainer, type RuncState } from '../container/container.js';
import { Store } from '../container/store.js';
import { bool, str } from './args.js';
import { out, type CommandContext } from './dispatch.js';

export function run(ctx: CommandContext): number {
  const format = str(ctx.parsed, 'format') ?? 'table';
  if (format !== 'table' && format !== 'json') throw new UsageError(`invalid format option: ${format} (--format must be table or json)`);
  const store = new Store(ctx.globals.root);
  const states: RuncState[] = [];
  for (const id of store.ids()) {
    try {
      states.push(loadContainer(store, id).runcState());
    } catch {
      // Deleted meanwhile or half-created: runc skips such entries too.
    }
  }
  if (bool(ctx.parsed, 'quiet')) {
    out(states.map((s) => s.id + '\n').join(''));
  } else if (format === 'json') {
    out(JSON.stringify(states.length > 0 ? states : null) + '\n');
  } else {
    out(table(states));
  }
  return 0;
}

export function table(states: RuncState[]): string {
  const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER']];
  for (const s of states) rows.push([s.id, String(s.pid), s.status, s.bundle, s.created, s.owner]);
  return tabwrite(rows);
}

/** Go's text/tabwriter with minwidth 12, padding 3, ' ' padding: every cell but the last of a row
 *  is padded to the column's width (its widest cell + 3, at least 12). */
export function tabwrite(rows: string[][], minWidth = 12, padding = 3): string {
  const widths: number[] = [];
  for (const r of rows) {
    r.slice(0, -1).forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, minWidth, cell.length + padding);
    });
  }
  return rows.map((r) => r.map((cell, i) => (i < r.length - 1 ? cell.padEnd(widths[i] as number) : cell)).join('') + '\n').join('');
}
