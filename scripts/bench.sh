#!/usr/bin/env bash
# npm run bench: tsrun against runc and crun, side by side in one run (see scripts/bench.mjs).
# Needs root. Builds first only if bin/tsrun is missing (BENCH_BUILD=1 forces a build).
# Arguments go to bench.mjs: --rounds N (default 30), --warmup N (3), --cmd-rounds N (20).
set -euo pipefail
# shellcheck source=scripts/deps.sh
. "$(dirname "$0")/deps.sh"

[ "$(id -u)" -eq 0 ] || tsrun_die "run as root (sudo $0): the benchmark starts containers"
tsrun_ensure_node
tsrun_ensure_packages "${TSRUN_BUILD_PKGS[@]}" runc crun time
if [ ! -x "$TSRUN_ROOT/bin/tsrun" ] || [ "${BENCH_BUILD:-0}" = 1 ]; then
  tsrun_ensure_node_modules
  tsrun_build
fi
# NODE_EXTRA_CA_CERTS costs every node start ~35 ms and real container managers do not set it.
exec env -u NODE_EXTRA_CA_CERTS node "$TSRUN_ROOT/scripts/bench.mjs" "$@"
