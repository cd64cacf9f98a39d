#!/usr/bin/env bash
# Usage: scripts/make-bundle.sh DIR [ARG...]
# Makes an OCI bundle in DIR: a busybox rootfs (static /bin/busybox plus one symlink per applet,
# /etc/passwd, /etc/group) and a config.json from `tsrun spec`, with terminal false and, when given,
# process.args set to ARG... Rerunning replaces the config and refreshes the rootfs.
# TSRUN=path picks the tsrun binary (default: this checkout's bin/tsrun).
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 DIR [ARG...]" >&2; exit 2; }
dir="$1"; shift
root="$(cd "$(dirname "$0")/.." && pwd)"
tsrun="${TSRUN:-$root/bin/tsrun}"
busybox="${BUSYBOX:-/bin/busybox}"

[ -x "$busybox" ] || { echo "error: $busybox missing (apt-get install busybox-static)" >&2; exit 1; }
# A dynamically linked busybox would need the host's libraries inside the rootfs.
if ldd "$busybox" >/dev/null 2>&1; then
  echo "error: $busybox is dynamically linked (apt-get install busybox-static)" >&2; exit 1
fi

mkdir -p "$dir/rootfs"
rootfs="$(cd "$dir/rootfs" && pwd)"
mkdir -p "$rootfs"/{bin,etc,dev,proc,sys,tmp,root,run,var}
chmod 1777 "$rootfs/tmp"
install -m 0755 "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sfn busybox "$rootfs/bin/$applet"
done
cat >"$rootfs/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PW
cat >"$rootfs/etc/group" <<'GR'
root:x:0:
daemon:x:1:
nogroup:x:65534:
GR

rm -f "$dir/config.json"
if [ -x "$tsrun" ]; then
  "$tsrun" spec --bundle "$dir"
elif [ -z "${TSRUN:-}" ] && command -v runc >/dev/null; then
  # Only while the project is not built yet: lets the bundle be made before bin/tsrun exists.
  echo "warning: $tsrun not built yet; using 'runc spec' for $dir/config.json" >&2
  runc spec --bundle "$dir"
else
  echo "error: $tsrun not found (run 'npm run build' first)" >&2; exit 1
fi

node - "$dir/config.json" "$@" <<'JS'
const fs = require('node:fs');
const [file, ...args] = process.argv.slice(2);
const config = JSON.parse(fs.readFileSync(file, 'utf8'));
config.process.terminal = false;
if (args.length > 0) config.process.args = args;
fs.writeFileSync(file, JSON.stringify(config, null, '\t') + '\n');
JS
