#!/usr/bin/env bash
# Command one: on a fresh Debian/Ubuntu machine, as root (sudo scripts/example.sh or npm run example),
# install what is missing, build tsrun, make an example busybox bundle in ./example and run it.
# Safe to rerun: installs nothing twice, replaces the bundle's config, removes a leftover container.
set -euo pipefail
# shellcheck source=scripts/deps.sh
. "$(dirname "$0")/deps.sh"

[ "$(id -u)" -eq 0 ] || tsrun_die "run as root (sudo $0): containers need root"
tsrun_setup

bundle="$TSRUN_ROOT/example"
id=tsrun-example
tsrun_log "making the example bundle in $bundle"
"$TSRUN_ROOT/scripts/make-bundle.sh" "$bundle" sh -c '
echo "hostname: $(hostname)"
echo "id: $(id)"
echo "pid 1 is $(cat /proc/1/comm); the processes in /proc as pid 1 sees them:"
ps -o pid,user,comm
exit 0'

# A container left by an interrupted earlier run would make `run` fail with "already exists".
"$TSRUN_ROOT/bin/tsrun" delete --force "$id" >/dev/null 2>&1 || true
tsrun_log "bin/tsrun run --bundle $bundle $id"
"$TSRUN_ROOT/bin/tsrun" run --bundle "$bundle" "$id"
