#!/usr/bin/env bash
# Usage: scripts/vm/run.sh [--suite FILE]... [--timeout SECONDS] [--ensure-only]
# Boots a throwaway qemu (TCG) VM on a pure cgroup v2 hierarchy with a Debian cloud kernel and an
# initramfs holding node, the built project and a busybox bundle, runs each suite (default:
# scripts/vm/smoke.mjs) inside, and prints the results port's output (suite output framed by
# @@VM-RESULT-BEGIN NAME / @@VM-RESULT-END NAME rc=N ...) on stdout; timings go to stderr.
# Exit status: 0 every suite exited 0; 1 a suite failed; 2 usage; 3 qemu or the kernel could not be
# obtained (callers skip on this one only); 4 the VM did not finish (timeout, panic, crash).
# --ensure-only installs qemu and fetches the kernel, then exits 0 or 3.
# TSRUN_VM_CACHE: cache dir (default .vm-cache in the checkout); TSRUN_VM_TIMEOUT: hard limit (300 s);
# TSRUN_VM_INITRD_FORMAT: gz (default), zst or cpio (uncompressed); TSRUN_VM_QEMU_ARGS: extra
# qemu arguments (word-split), e.g. '-cpu max'.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${TSRUN_VM_CACHE:-$root/.vm-cache}"
limit="${TSRUN_VM_TIMEOUT:-300}"
suites=()
ensure_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --suite) [ $# -ge 2 ] || { echo "error: --suite needs a file" >&2; exit 2; }; suites+=("$2"); shift 2 ;;
    --timeout) [ $# -ge 2 ] || { echo "error: --timeout needs seconds" >&2; exit 2; }; limit="$2"; shift 2 ;;
    --ensure-only) ensure_only=1; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$limit" =~ ^[0-9]+$ ]] || { echo "error: --timeout must be whole seconds, got $limit" >&2; exit 2; }
[ ${#suites[@]} -gt 0 ] || suites=("$here/smoke.mjs")

log() { printf 'vm: %s\n' "$*" >&2; }
unavailable() { printf 'vm: unavailable: %s\n' "$*" >&2; exit 3; }
now_ms() { date +%s%3N; }
t0="$(now_ms)"

# shellcheck source=scripts/deps.sh
. "$root/scripts/deps.sh"
if ! command -v qemu-system-x86_64 >/dev/null || ! command -v cpio >/dev/null; then
  (tsrun_ensure_packages qemu-system-x86 cpio) >&2 || unavailable "qemu-system-x86 and cpio could not be installed"
  command -v qemu-system-x86_64 >/dev/null || unavailable "qemu-system-x86_64 not found after install"
fi

mkdir -p "$cache"
# Runs sharing a cache take turns to fetch the kernel and build their archive.
take_lock() {
  exec 9>"$cache/.lock"
  if ! flock -n 9; then
    log "waiting for another VM run (holding $cache/.lock)"
    flock -w "$limit" 9 || { log "gave up waiting for $cache/.lock after ${limit}s"; exit 4; }
    t0="$(now_ms)"
  fi
}

# The newest versioned linux-image-*-cloud-amd64 (not the meta, -dbg or -unsigned packages).
newest_kernel_pkg() {
  apt-cache search --names-only '^linux-image-.*-cloud-amd64$' 2>/dev/null | awk '{print $1}' |
    grep -E -- '^linux-image-[0-9]+\.[0-9]+[.0-9]*[-+][^ ]*-cloud-amd64$' | sort -V | tail -n1
}

# Modules the kernel package has as loadable (.ko.xz) that tests need, relative to kernel/; they are
# decompressed here (busybox insmod reads plain .ko) and loaded by the VM's /init.
MODULES=(fs/overlayfs/overlay)

# Downloads the package (never installs it) and keeps vmlinuz, its config and MODULES in the cache.
fetch_kernel() {
  local pkg="$1" dl m
  log "downloading $pkg"
  dl="$(mktemp -d "$cache/dl.XXXXXX")"
  # apt-get download as root drops to _apt, which cannot write here; the warning is harmless.
  (cd "$dl" && apt-get download -q "$pkg" >/dev/null 2>&1) || { rm -rf "$dl"; unavailable "apt-get download $pkg failed"; }
  dpkg -x "$dl"/*.deb "$dl/x"
  mkdir -p "$dl/modules"
  for m in "${MODULES[@]}"; do
    xz -dc "$dl"/x/lib/modules/*/kernel/"$m".ko.xz >"$dl/modules/$(basename "$m").ko" 2>/dev/null || {
      rm -f "$dl/modules/$(basename "$m").ko"
      log "module $m not in $pkg (built in or absent); tests needing it will say so"
    }
  done
  cp "$dl"/x/boot/config-* "$cache/$pkg.config"
  rm -rf "$cache/$pkg.modules" && mv "$dl/modules" "$cache/$pkg.modules"
  cp "$dl"/x/boot/vmlinuz-* "$cache/$pkg.vmlinuz.tmp" && mv "$cache/$pkg.vmlinuz.tmp" "$cache/$pkg.vmlinuz"
  rm -rf "$dl"
}

# apt-cache takes seconds on a busy host; the answer is kept for a day.
kernel_pkg=""
if [ -n "$(find "$cache/kernel.pkg" -mmin -1440 2>/dev/null)" ]; then kernel_pkg="$(cat "$cache/kernel.pkg")"; fi
if [ -z "$kernel_pkg" ]; then
  kernel_pkg="$(newest_kernel_pkg)"
  if [ -z "$kernel_pkg" ]; then
    apt-get update -q >/dev/null 2>&1 || true
    kernel_pkg="$(newest_kernel_pkg)"
  fi
  [ -z "$kernel_pkg" ] || echo "$kernel_pkg" >"$cache/kernel.pkg"
fi
# --ensure-only with the kernel cached reads nothing shared, so it does not wait behind a VM run.
if [ "$ensure_only" -eq 0 ] || [ -z "$kernel_pkg" ] || [ ! -f "$cache/$kernel_pkg.vmlinuz" ] ||
   [ ! -d "$cache/$kernel_pkg.modules" ]; then
  take_lock
fi
if [ -z "$kernel_pkg" ]; then
  # Offline: use whatever kernel an earlier run cached.
  vmlinuz="$(ls -1 "$cache"/linux-image-*.vmlinuz 2>/dev/null | sort -V | tail -n1 || true)"
  [ -n "$vmlinuz" ] || unavailable "no linux-image-*-cloud-amd64 package known to apt and none cached"
else
  vmlinuz="$cache/$kernel_pkg.vmlinuz"
  [ -f "$vmlinuz" ] && [ -d "$cache/$kernel_pkg.modules" ] || fetch_kernel "$kernel_pkg"
fi
export TSRUN_VM_MODULES_DIR="${vmlinuz%.vmlinuz}.modules"
[ "$ensure_only" -eq 0 ] || { log "ready: $(basename "$vmlinuz" .vmlinuz), $(qemu-system-x86_64 --version | head -n1)"; exit 0; }

# One archive per suite set, so runs with different suites can boot side by side: the lock covers
# only the kernel and the archive build; qemu reads the archive whole when it starts.
set_key="$(for s in "${suites[@]}"; do readlink -f "$s"; done | sha256sum | cut -c1-12)"
initrd="$cache/initrd-$set_key.${TSRUN_VM_INITRD_FORMAT:-gz}"
find "$cache" -maxdepth 1 -name 'initrd-*' -mtime +1 -delete 2>/dev/null || true
"$here/build-initramfs.sh" "$initrd" "${suites[@]}"
touch "$initrd"
exec 9>&-
t1="$(now_ms)"

work="$(mktemp -d /tmp/tsrun-vm-run.XXXXXX)"
# Suites must end by this guest uptime: the limit less qemu's start-up before the kernel's clock
# runs (measured 3-20 s on a loaded host) and a margin to power off.
deadline=$((limit - 30 - limit / 10))
qemu_pid=""
watchdog_pid=""
cleanup() {
  [ -z "$watchdog_pid" ] || kill "$watchdog_pid" 2>/dev/null || true
  [ -z "$qemu_pid" ] || kill -KILL "$qemu_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
: >"$work/console.log"; : >"$work/results.log"
# ttyS0 (console) and ttyS1 (results) both go to files: qemu never touches this script's stdio.
# qemu is this script's own child (not under timeout(1), which would put it in another process
# group and survive a SIGKILL of its parent), so cleanup and a caller killing our group reach it.
qemu-system-x86_64 -accel tcg -m 2048 -smp 2 -nographic -no-reboot -nic none -vga none \
  -monitor none -serial "file:$work/console.log" -serial "file:$work/results.log" \
  -kernel "$vmlinuz" -initrd "$initrd" ${TSRUN_VM_QEMU_ARGS:-} \
  -append "console=ttyS0 quiet cgroup_no_v1=all panic=-1 tsrun_deadline=$deadline" \
  </dev/null >"$work/qemu.out" 2>&1 &
qemu_pid=$!
# The hard limit: CI must never hang on a wedged guest.
watchdog() {
  local nap
  trap 'kill "$nap" 2>/dev/null; exit 0' TERM
  sleep "$limit" & nap=$!; wait "$nap"
  touch "$work/timed-out"
  kill -TERM "$qemu_pid" || return 0
  sleep 5 & nap=$!; wait "$nap"
  kill -KILL "$qemu_pid"
}
watchdog >/dev/null 2>&1 &
watchdog_pid=$!
qemu_status=0
wait "$qemu_pid" || qemu_status=$?
qemu_pid=""
kill "$watchdog_pid" 2>/dev/null || true
wait "$watchdog_pid" 2>/dev/null || true
watchdog_pid=""
t2="$(now_ms)"

tr -d '\r' <"$work/results.log" >"$work/results.txt"
cat "$work/results.txt"

status=0
for suite in "${suites[@]}"; do
  name="$(basename "$suite")"; name="${name%.*}.mjs"
  end="$(grep -E "^@@VM-RESULT-END $name " "$work/results.txt" | tail -n1 || true)"
  if [ -z "$end" ]; then
    log "suite $name: no result (VM did not finish it)"; status=4
  elif [[ "$end" != *" rc=0 "* ]]; then
    log "suite $name: failed (${end#@@VM-RESULT-END })"; [ "$status" -ne 0 ] || status=1
  else
    log "suite $name: passed (${end#@@VM-RESULT-END })"
  fi
done
if ! grep -q '^@@VM-DONE' "$work/results.txt"; then
  [ ! -e "$work/timed-out" ] || log "qemu killed after the ${limit}s limit"
  log "VM did not finish (qemu exit $qemu_status); console tail:"
  tr -d '\r' <"$work/console.log" | tail -n 40 >&2
  cat "$work/qemu.out" >&2
  status=4
fi
boot="$(grep -oE '^@@VM-BOOTED uptime=[0-9.]+' "$work/results.txt" | cut -d= -f2 || true)"
log "timing: prepare $((t1 - t0)) ms, VM wall $((t2 - t1)) ms, guest boot to /init ${boot:-?} s, total $((t2 - t0)) ms"
exit "$status"
