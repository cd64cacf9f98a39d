#!/usr/bin/env bash
# Usage: scripts/vm/build-initramfs.sh OUT [SUITE...]
# Builds the test VM's initramfs (newc cpio; gzip when OUT ends in .gz) at OUT: static busybox as /bin/sh with its applet
# links, /usr/bin/node with the libraries ldd lists (and the dynamic loader), the built project under
# /tsrun (dist, addon, oci-init, a VM-specific bin/tsrun launcher), a busybox bundle at /bundle, the
# suites (bundled to plain JS by esbuild) under /tsrun/suites, and scripts/vm/init.sh as /init.
# The archive is rebuilt only when the staged tree's content changed (its hash is kept in OUT.key).
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 OUT [SUITE...]" >&2; exit 2; }
out="$1"; shift
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
node_bin="$(command -v node)"
node_bin="$(readlink -f "$node_bin")"
busybox="${BUSYBOX:-/bin/busybox}"

die() { echo "error: $*" >&2; exit 1; }
for f in dist/tsrun.cjs build/Release/tsrun.node build/Release/oci-init bin/tsrun; do
  [ -e "$root/$f" ] || die "$root/$f missing (run npm run build first)"
done
[ -x "$busybox" ] || die "$busybox missing (apt-get install busybox-static)"
if ldd "$busybox" >/dev/null 2>&1; then die "$busybox is dynamically linked (apt-get install busybox-static)"; fi

stage="$(mktemp -d /tmp/tsrun-vm-stage.XXXXXX)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,root,tsrun/bin,tsrun/build/Release,tsrun/dist,tsrun/suites}
chmod 0755 "$stage"
chmod 1777 "$stage/tmp"

# busybox: /bin/sh and every applet at the path busybox itself names.
install -m 0755 "$busybox" "$stage/bin/busybox"
for applet in $("$busybox" --list-full); do
  [ "$applet" = bin/busybox ] || ln -sfn /bin/busybox "$stage/$applet"
done

# Shared libraries of node and the addon, at the paths ldd resolved them to (the loader included).
copy_libs() {
  local lib
  for lib in $(ldd "$1" | grep -oE '/[^ ]+'); do
    [ -e "$stage$lib" ] && continue
    mkdir -p "$stage$(dirname "$lib")"
    cp -L "$lib" "$stage$lib"
  done
}
install -m 0755 "$node_bin" "$stage/usr/bin/node"
copy_libs "$node_bin"
copy_libs "$root/build/Release/tsrun.node"

cp "$root/dist/tsrun.cjs" "$stage/tsrun/dist/"
cp "$root/package.json" "$stage/tsrun/"
install -m 0755 "$root/build/Release/tsrun.node" "$root/build/Release/oci-init" "$stage/tsrun/build/Release/"
# The host launcher bakes host paths; this one names the VM's node and bundle.
cat >"$stage/tsrun/bin/tsrun" <<'SH'
#!/bin/sh
TSRUN_NOFILE_SOFT=$(ulimit -Sn)
export TSRUN_NOFILE_SOFT
exec /usr/bin/node /tsrun/dist/tsrun.cjs "$@"
SH
chmod 0755 "$stage/tsrun/bin/tsrun"

TSRUN="$root/bin/tsrun" "$root/scripts/make-bundle.sh" "$stage/bundle" >/dev/null

# Suites are bundled so they may import project helpers; they live under /tsrun/suites so code that
# finds the package root from its own URL (src/native) finds /tsrun.
: >"$stage/etc/vm-suites"
for suite in "$@"; do
  [ -f "$suite" ] || die "suite $suite not found"
  name="$(basename "$suite")"; name="${name%.*}"
  (cd "$root" && node_modules/.bin/esbuild "$(cd "$(dirname "$suite")" && pwd)/$(basename "$suite")" \
    --bundle --platform=node --target=node20 --format=esm --log-level=warning \
    "--banner:js=import { createRequire as __vmCreateRequire } from 'node:module'; const require = __vmCreateRequire(import.meta.url);" \
    --outfile="$stage/tsrun/suites/$name.mjs")
  echo "/tsrun/suites/$name.mjs" >>"$stage/etc/vm-suites"
done

install -m 0755 "$here/init.sh" "$stage/init"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$stage/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$stage/etc/group"

cd "$stage"
key="$( { find . -printf '%p %y %m %l\n' | LC_ALL=C sort; find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; } | sha256sum | cut -d' ' -f1)"
if [ -f "$out" ] && [ "$(cat "$out.key" 2>/dev/null)" = "$key" ]; then
  echo "initramfs: unchanged ($out)" >&2
  exit 0
fi
mkdir -p "$(dirname "$out")"
# Uncompressed is the faster boot under TCG: gunzip of ~110 MB, emulated, took seconds more than
# the kernel copying the plain archive (measured 26-31 s vs 11-18 s to /init on a loaded host).
compress=cat
case "$out" in *.gz) compress="gzip -1" ;; esac
find . -print0 | LC_ALL=C sort -z | cpio --null --quiet -o -H newc --owner=0:0 | $compress >"$out.tmp"
mv "$out.tmp" "$out"
echo "$key" >"$out.key"
echo "initramfs: built $out ($(du -h "$out" | cut -f1))" >&2
