#!/usr/bin/env bash
# Command two (npm test): install what is missing, build, run the whole suite with vitest.
# Integration and conformance tests start real containers and need root; without root only the
# unit project runs (and the summary says so). Extra arguments go to vitest (e.g. a file filter).
# The last line is always `tests: N passed, M failed` for CI; the exit status is non-zero on failure.
set -euo pipefail
# shellcheck source=scripts/deps.sh
. "$(dirname "$0")/deps.sh"

if [ "$(id -u)" -eq 0 ]; then
  tsrun_setup "${TSRUN_TEST_PKGS[@]}"
  for p in "${TSRUN_CLIENT_PKGS[@]}"; do
    ( tsrun_ensure_packages "$p" ) || tsrun_log "could not install $p: its client tests will skip"
  done
  projects=()
  scope="all projects (unit, integration, conformance)"
else
  tsrun_setup
  projects=(--project unit)
  scope="unit tests only: not root, so integration and conformance tests (real containers) are not run"
fi

results="$(mktemp /tmp/tsrun-vitest.XXXXXX.json)"
trap 'rm -f "$results"' EXIT
tsrun_log "vitest: $scope"
cd "$TSRUN_ROOT"
status=0
# The suite has to finish well within CI's 90 minutes; a hung container must not eat all of it.
# --foreground keeps vitest in the terminal's process group, so Ctrl-C still reaches it.
timeout --foreground --kill-after=30s "${TSRUN_TEST_TIMEOUT:-80m}" \
  "$TSRUN_ROOT/node_modules/.bin/vitest" run "${projects[@]}" --reporter=default --reporter=json --outputFile.json="$results" "$@" \
  </dev/null || status=$?

summary="$(node - "$results" <<'JS' || true
const fs = require('node:fs');
let r;
try { r = JSON.parse(fs.readFileSync(process.argv[2], 'utf8')); } catch { process.exit(1); }
// A file that fails to load (syntax error, failing beforeAll) has no failed test of its own:
// count it once so a broken file can never look like a pass.
let failed = r.numFailedTests;
for (const f of r.testResults ?? []) {
  const tests = f.assertionResults ?? [];
  if (f.status === 'failed' && !tests.some((t) => t.status === 'failed')) failed += 1;
}
const skipped = r.numPendingTests + r.numTodoTests;
console.log(`${r.numPassedTests} ${failed} ${skipped}`);
JS
)"
echo
echo "scope: $scope"
if [ -z "$summary" ]; then
  echo "tests: 0 passed, 1 failed"
  echo "error: vitest wrote no results (exit status $status)" >&2
  [ "$status" -ne 0 ] || status=1
  exit "$status"
fi
read -r passed failed skipped <<<"$summary"
echo "skipped: $skipped"
echo "tests: $passed passed, $failed failed"
if [ "$failed" -gt 0 ] && [ "$status" -eq 0 ]; then status=1; fi
exit "$status"
