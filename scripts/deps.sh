# shellcheck shell=bash
# Shared by scripts/example.sh, scripts/test.sh, scripts/bench.sh and .ci/run (sourced, not run):
# the one place that knows what tsrun needs on a Debian/Ubuntu machine and how to get it.

# Build: node-gyp (python3, make, g++), libseccomp for the seccomp compiler, nlohmann-json for
# oci-init's plan decoder, busybox-static for the example and test rootfs.
TSRUN_BUILD_PKGS=(build-essential python3 make g++ libseccomp-dev busybox-static nlohmann-json3-dev)
# Tests and benchmark: the runtimes we compare against, capsh, ip, strace, /usr/bin/time (peak RSS),
# tmux (terminal resize test), newuidmap/newgidmap (rootless mappings).
TSRUN_TEST_PKGS=(runc crun hyperfine libcap2-bin iproute2 strace time tmux uidmap)
# The real clients of test/clients (CLIENTS.md): installed one by one and not fatal, so a missing
# package only makes its client's tests skip (they say why).
TSRUN_CLIENT_PKGS=(containerd podman docker.io)

TSRUN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_tsrun_apt_updated=0

tsrun_log() { printf '==> %s\n' "$*" >&2; }
tsrun_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Install with apt only the packages that are not installed yet, after a single apt-get update.
tsrun_ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || tsrun_die "missing packages (${missing[*]}) and no apt-get: install them by hand"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || tsrun_die "missing packages (${missing[*]}): run as root to install them"
    sudo=(sudo)
  fi
  tsrun_log "installing ${missing[*]}"
  if [ "$_tsrun_apt_updated" -eq 0 ]; then
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
    _tsrun_apt_updated=1
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
}

tsrun_ensure_node() {
  command -v node >/dev/null || tsrun_die "node not found: tsrun needs Node.js >= 20 (install it first)"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$major" -ge 20 ] || tsrun_die "node $(node --version) is too old: tsrun needs Node.js >= 20"
  command -v npm >/dev/null || tsrun_die "npm not found (it comes with Node.js)"
}

# npm ci only when node_modules is missing or older than package-lock.json (keeps reruns fast).
tsrun_ensure_node_modules() {
  if [ ! -f "$TSRUN_ROOT/node_modules/.package-lock.json" ] ||
     [ "$TSRUN_ROOT/package-lock.json" -nt "$TSRUN_ROOT/node_modules/.package-lock.json" ]; then
    tsrun_log "npm ci"
    (cd "$TSRUN_ROOT" && npm ci --no-audit --no-fund </dev/null)
  fi
}

tsrun_build() {
  tsrun_log "npm run build"
  (cd "$TSRUN_ROOT" && npm run build --silent </dev/null)
  [ -x "$TSRUN_ROOT/bin/tsrun" ] || tsrun_die "build finished but bin/tsrun is missing"
}

# Everything a fresh machine lacks, then a build.
tsrun_setup() {
  tsrun_ensure_node
  tsrun_ensure_packages "${TSRUN_BUILD_PKGS[@]}" "$@"
  tsrun_ensure_node_modules
  tsrun_build
}
