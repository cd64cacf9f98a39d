import { existsSync, readdirSync } from 'node:fs';
import { afterAll } from 'vitest';
import { removeTree, takeCleanupHooks, trackedDirs } from './cleanup.js';
import { removeCgroupParentIfEmpty } from './cgroups.js';
import { testRoot, testRootCreated, tsrun } from './tsrun.js';

/** Force-deletes every container under this file's test root (IDs from `list -q` and the root dir). */
export async function deleteAllContainers(): Promise<void> {
  if (!testRootCreated()) return;
  const root = testRoot();
  const ids = new Set<string>();
  const listed = await tsrun(['list', '-q']).catch(() => undefined);
  for (const l of listed?.stdout.split('\n') ?? []) if (l.trim()) ids.add(l.trim());
  if (existsSync(root)) {
    for (const e of readdirSync(root, { withFileTypes: true })) if (e.isDirectory()) ids.add(e.name);
  }
  for (const id of ids) await tsrun(['delete', '--force', id]).catch(() => undefined);
}

/** Deletes containers, runs onCleanup hooks, removes every temp dir this file made. */
export async function cleanupAll(): Promise<void> {
  await deleteAllContainers();
  for (const fn of takeCleanupHooks().reverse()) {
    try {
      await fn();
    } catch (e) {
      console.error('conformance cleanup hook failed:', e);
    }
  }
  for (const d of trackedDirs()) {
    try {
      removeTree(d);
    } catch (e) {
      console.error(`conformance: could not remove ${d}:`, e);
    }
  }
  removeCgroupParentIfEmpty();
}

/** Call once at the top of a test file: cleanupAll runs in afterAll even when tests failed. */
export function installCleanup(): void {
  afterAll(cleanupAll, 60000);
}
