#!/usr/bin/env bash
# Usage: scripts/vm/build-initramfs.sh OUT [SUITE...]
# Builds the test VM's initramfs at OUT (newc cpio; gzip or zstd when OUT ends in .gz or .zst):
# static busybox as /bin/sh with its applet links, /usr/bin/node with the libraries ldd lists (and
# the dynamic loader), the built project under /tsrun (dist, addon, oci-init, a VM-specific
# bin/tsrun launcher), a busybox bundle at /bundle, the suites (bundled to plain JS by esbuild)
# under /tsrun/suites, kernel modules from TSRUN_VM_MODULES_DIR (*.ko) under /lib/modules, and
# scripts/vm/init.sh as /init. Nothing is staged when the inputs are unchanged (key in OUT.key).
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 OUT [SUITE...]" >&2; exit 2; }
out="$1"; shift
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
node_bin="$(readlink -f "$(command -v node)")"
busybox="${BUSYBOX:-/bin/busybox}"

die() { echo "error: $*" >&2; exit 1; }
for f in dist/tsrun.cjs build/Release/tsrun.node build/Release/oci-init bin/tsrun package.json; do
  [ -e "$root/$f" ] || die "$root/$f missing (run npm run build first)"
done
[ -x "$busybox" ] || die "$busybox missing (apt-get install busybox-static)"
if ldd "$busybox" >/dev/null 2>&1; then die "$busybox is dynamically linked (apt-get install busybox-static)"; fi

tmp="$(mktemp -d /tmp/tsrun-vm-stage.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
stage="$tmp/root"

# Suites first: they are bundled (so they may import project helpers) and their output is part of
# the key, which makes an edit to anything they import rebuild the archive.
mkdir -p "$tmp/suites"
: >"$tmp/suites.list"
for suite in "$@"; do
  [ -f "$suite" ] || die "suite $suite not found"
  name="$(basename "$suite")"; name="${name%.*}"
  (cd "$root" && node_modules/.bin/esbuild "$(cd "$(dirname "$suite")" && pwd)/$(basename "$suite")" \
    --bundle --platform=node --target=node20 --format=esm --log-level=warning \
    "--banner:js=import { createRequire as __vmCreateRequire } from 'node:module'; const require = __vmCreateRequire(import.meta.url);" \
    --outfile="$tmp/suites/$name.mjs")
  echo "/tsrun/suites/$name.mjs" >>"$tmp/suites.list"
done

libs="$( { ldd "$node_bin"; ldd "$root/build/Release/tsrun.node"; } | grep -oE '/[^ ]+' | sort -u)"
# Kernel modules for /init to load (run.sh puts the cloud kernel's overlay.ko there).
modules=()
[ -z "${TSRUN_VM_MODULES_DIR:-}" ] || modules=("$TSRUN_VM_MODULES_DIR"/*.ko)
[ -e "${modules[0]:-}" ] || modules=()
inputs=("$node_bin" "$busybox" $libs "${modules[@]}" "$root"/dist/tsrun.cjs "$root"/build/Release/{tsrun.node,oci-init}
  "$root/package.json" "$root/bin/tsrun" "$here/init.sh" "$0" "$root/scripts/make-bundle.sh")
# Size and mtime of the big inputs, content of the generated suites and the suite order.
key="$( { for f in "${inputs[@]}"; do stat -L -c '%n %s %Y' "$f"; done
  cat "$tmp/suites.list"; (cd "$tmp/suites" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum); } |
  sha256sum | cut -d' ' -f1)"
if [ -f "$out" ] && [ "$(cat "$out.key" 2>/dev/null)" = "$key" ]; then
  echo "initramfs: unchanged ($out)" >&2
  exit 0
fi

mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,root,tsrun/bin,tsrun/build/Release,tsrun/dist}
chmod 0755 "$stage"
chmod 1777 "$stage/tmp"
mv "$tmp/suites" "$stage/tsrun/suites"
mv "$tmp/suites.list" "$stage/etc/vm-suites"

# busybox: /bin/sh and every applet at the path busybox itself names (one node process, not one
# ln per applet: several hundred forks cost seconds on a busy host).
install -m 0755 "$busybox" "$stage/bin/busybox"
"$busybox" --list-full | node -e '
  const fs = require("node:fs");
  for (const a of fs.readFileSync(0, "utf8").split("\n")) {
    if (a !== "" && a !== "bin/busybox") fs.symlinkSync("/bin/busybox", `${process.argv[1]}/${a}`);
  }' "$stage"

# Shared libraries of node and the addon, at the paths ldd resolved them to (the loader included).
for lib in $libs; do
  mkdir -p "$stage$(dirname "$lib")"
  cp -L "$lib" "$stage$lib"
done
install -m 0755 "$node_bin" "$stage/usr/bin/node"
# The symbol table (.symtab) is 13 MB the VM never reads; addons bind through .dynsym, which stays.
strip --strip-all "$stage/usr/bin/node" 2>/dev/null || true

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

mkdir -p "$stage/lib/modules"
[ ${#modules[@]} -eq 0 ] || cp "${modules[@]}" "$stage/lib/modules/"
install -m 0755 "$here/init.sh" "$stage/init"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$stage/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$stage/etc/group"

# Measured on this (busy) host, qemu start to /init: gzip -1 (41 MB), zstd (35 MB) and plain cpio
# (97 MB) were within noise of each other (10-19 s), so gzip, the kernel's most common format.
compress=cat
case "$out" in *.gz) compress="gzip -1" ;; *.zst) compress="zstd -q -3" ;; esac
mkdir -p "$(dirname "$out")"
(cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null --quiet -o -H newc --owner=0:0) | $compress >"$out.tmp"
mv "$out.tmp" "$out"
echo "$key" >"$out.key"
echo "initramfs: built $out ($(du -h "$out" | cut -f1))" >&2
