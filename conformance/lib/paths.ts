import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (conformance/lib/ is two levels below it). */
export const repoRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The runtime under test. TSRUN_BIN lets the same suite run against a reference runtime
 * (e.g. TSRUN_BIN=/usr/sbin/runc) to check that the tests themselves are right.
 */
export const tsrunBin: string = process.env.TSRUN_BIN ?? join(repoRoot, 'bin', 'tsrun');

export const probeSource: string = join(repoRoot, 'conformance', 'probe', 'probe.c');
export const probeBinary: string = join(repoRoot, 'conformance', 'probe', 'probe');
export const probeBuildScript: string = join(repoRoot, 'conformance', 'probe', 'build.sh');

/** Debian's busybox-static (bookworm has a merged /usr, so /bin/busybox is the same file). */
export const busyboxPath: string = existsSync('/bin/busybox') ? '/bin/busybox' : '/usr/bin/busybox';

export const isRoot: boolean = typeof process.getuid === 'function' && process.getuid() === 0;
export const binaryPresent: boolean = existsSync(tsrunBin);

/**
 * Why the suite cannot run here, or '' when it can. Suites put this in their names:
 * `describe.skipIf(!!skipReason)(\`lifecycle\${skipNote}\`, ...)`.
 */
export const skipReason: string = !isRoot
  ? 'not root'
  : !binaryPresent
    ? `${tsrunBin} missing (run npm run build)`
    : !existsSync(busyboxPath)
      ? 'busybox-static missing'
      : '';
export const skipNote: string = skipReason ? ` (skipped: ${skipReason})` : '';

/** A test name that carries the skip reason only when the test is skipped. */
export function skipName(skip: boolean, name: string, reason: string): string {
  return skip ? `${name} (skipped: ${reason})` : name;
}
