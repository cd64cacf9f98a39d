// bin/tsrun: starts node on tsrun's bundle.
// - podman runs the runtime with no PATH and no HOME, so node is named by the absolute path it had
//   at build time, and the bundle is found from this binary's own location (/proc/self/exe, which
//   the kernel resolves through the npm bin symlink).
// - Node raises the soft RLIMIT_NOFILE to the hard limit when it starts. A container whose config
//   sets no NOFILE limit must get the caller's, not Node's (SECURITY.md #4), so the caller's soft
//   limit travels in TSRUN_NOFILE_SOFT. This replaces a /bin/sh script that forked for `ulimit`.
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

#ifndef TSRUN_NODE
#error "TSRUN_NODE (absolute path of node) must be defined at build time"
#endif

namespace {

// <root>/build/Release/tsrun-launcher -> <root>
std::string package_root() {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return TSRUN_ROOT;
  std::string p(self, static_cast<size_t>(n));
  for (int i = 0; i < 3; i++) {
    size_t slash = p.rfind('/');
    if (slash == std::string::npos || slash == 0) return TSRUN_ROOT;
    p.resize(slash);
  }
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  struct rlimit rl {};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    char soft[32];
    snprintf(soft, sizeof soft, "%llu", static_cast<unsigned long long>(rl.rlim_cur));
    setenv("TSRUN_NOFILE_SOFT", soft, 1);
  }
  // Node reads and parses this certificate file at every start (35-100 ms on this project's
  // machines, more than tsrun's own work for `state` or `kill`); tsrun makes no TLS connection, and
  // nothing it starts inherits its environment (hooks and the container get their config's env).
  unsetenv("NODE_EXTRA_CA_CERTS");
  std::string script = package_root() + "/dist/boot.cjs";
  std::vector<char*> args;
  args.push_back(const_cast<char*>(TSRUN_NODE));
  // V8 keeps the string hash seed of node's built-in snapshot instead of drawing a new one and
  // rehashing the snapshot's tables: about 4 ms of every start on this project's machines (the
  // secret derived from a fresh seed needs a prime search). The price is a seed known in advance,
  // which only matters to input with attacker-chosen keys hashed in bulk (hash flooding); tsrun's
  // input is its caller's config and its own state, and a flooded config slows only its own create.
  // The build seeds the code caches through this launcher, so they carry the same V8 flags.
  args.push_back(const_cast<char*>("--no-rehash-snapshot"));
  args.push_back(script.data());
  for (int i = 1; i < argc; i++) args.push_back(argv[i]);
  args.push_back(nullptr);
  execv(TSRUN_NODE, args.data());
  fprintf(stderr, "tsrun: cannot run %s: %s\n", TSRUN_NODE, strerror(errno));
  return 127;
}
