#include "init/exec.h"

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "common/unique_fd.h"
#include "init/error.h"

namespace ociinit {
namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr const char* kBreakout =
    "current working directory is outside of container mount namespace root -- possible container breakout detected";

[[noreturn]] void lookup_error(const std::string& arg0, int e, const std::string& detail) {
  throw InitError("exec lookup", "", e, arg0, "exec: \"" + arg0 + "\": " + detail);
}

bool same_file(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

// Go's findExecutable: stat, then not a directory, then executable for the effective ids.
int find_executable(const std::string& path, int& stat_errno) {
  struct stat st;
  stat_errno = 0;
  if (::stat(path.c_str(), &st) < 0) {
    stat_errno = errno;
    return errno;
  }
  if (!S_ISREG(st.st_mode)) return EACCES;
  if (::faccessat(AT_FDCWD, path.c_str(), X_OK, AT_EACCESS) < 0) return errno;
  return 0;
}

std::string path_from_env(const std::vector<std::string>& env) {
  const std::string* found = nullptr;
  for (const auto& e : env) {
    if (e.rfind("PATH=", 0) == 0) found = &e;  // the last one wins, as with setenv in order
  }
  return found ? found->substr(5) : kDefaultPath;
}

}  // namespace

void guard_stdio() {
  for (int fd = 0; fd < 3; fd++) {
    if (::fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
    int n = tsrun::retry_eintr([] { return ::open("/dev/null", O_RDWR); });
    if (n < 0) throw_sys("stdio", "open", "/dev/null");
    if (n != fd) {  // lower fds are open, so open() returned the lowest free one: fd itself
      ::close(n);
      throw_msg("stdio", "", "stdio: could not reopen closed fd " + std::to_string(fd));
    }
  }
}

PreservedFds snapshot_preserved(int count) {
  PreservedFds p;
  p.count = count;
  for (int i = 0; i < count; i++) p.open_at_start.push_back(::fcntl(3 + i, F_GETFD) >= 0);
  return p;
}

void verify_cwd(const std::string& cwd) {
  char buf[PATH_MAX];
  if (::getcwd(buf, sizeof buf) == nullptr) throw_sys("cwd", "getcwd", cwd);
  if (buf[0] != '/') throw_msg("cwd", cwd, kBreakout);
  struct stat dot, want, seen;
  if (::stat(".", &dot) < 0) throw_sys("cwd", "stat", ".");
  if (::stat(cwd.c_str(), &want) < 0) throw_sys("cwd", "stat", cwd);
  if (::stat(buf, &seen) < 0) throw_sys("cwd", "stat", buf);
  if (!same_file(dot, want) || !same_file(dot, seen)) throw_msg("cwd", cwd, kBreakout);
}

void enter_cwd(const std::string& cwd) {
  if (::chdir(cwd.c_str()) < 0) {
    int e = errno;
    throw InitError("cwd", "chdir", e, cwd, "chdir to cwd (\"" + cwd + "\") set in config.json failed: " + errno_text(e));
  }
  verify_cwd(cwd);
}

std::string resolve_executable(const std::string& arg0, const std::vector<std::string>& env) {
  int serr = 0;
  if (arg0.find('/') != std::string::npos) {
    int e = find_executable(arg0, serr);
    if (e == 0) return arg0;
    if (serr) lookup_error(arg0, serr, "stat " + arg0 + ": " + errno_text(serr));
    lookup_error(arg0, e, errno_text(e));
  }
  if (!arg0.empty()) {
    std::string path = path_from_env(env);
    size_t start = 0;
    for (;;) {
      size_t end = path.find(':', start);
      std::string dir = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
      std::string cand = (dir.empty() ? std::string(".") : dir) + "/" + arg0;
      if (find_executable(cand, serr) == 0) return cand;
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  lookup_error(arg0, ENOENT, "executable file not found in $PATH");
}

tsrun::UniqueFd signal_exec_fifo(int procfd, int fifo_fd) {
  std::string rel = "self/fd/" + std::to_string(fifo_fd);
  tsrun::UniqueFd w(tsrun::retry_eintr([&] { return ::openat(procfd, rel.c_str(), O_WRONLY | O_CLOEXEC); }));
  if (!w) throw_sys("exec fifo", "open", "exec.fifo");
  if (tsrun::retry_eintr([&] { return ::write(w.get(), "0", 1); }) != 1) throw_sys("exec fifo", "write", "exec.fifo");
  ::close(fifo_fd);
  return w;
}

void set_cpu_affinity(const std::vector<int>& cpus, const char* step) {
  int max = 0;
  for (int c : cpus) {
    if (c < 0) throw_msg(step, "", std::string(step) + ": negative CPU number");
    max = std::max(max, c);
  }
  cpu_set_t* set = CPU_ALLOC(max + 1);
  if (!set) throw_sys(step, "malloc");
  size_t size = CPU_ALLOC_SIZE(max + 1);
  CPU_ZERO_S(size, set);
  for (int c : cpus) CPU_SET_S(c, size, set);
  int r = ::sched_setaffinity(0, size, set);
  int e = errno;
  CPU_FREE(set);
  if (r < 0) throw_sys(step, "sched_setaffinity", "", e);
}

tsrun::UniqueFd load_seccomp(const Seccomp& s) {
  std::vector<struct sock_filter> prog_buf(s.bpf.size() / sizeof(struct sock_filter));
  std::memcpy(prog_buf.data(), s.bpf.data(), prog_buf.size() * sizeof(struct sock_filter));
  struct sock_fprog prog{static_cast<unsigned short>(prog_buf.size()), prog_buf.data()};
  if (prog_buf.size() > USHRT_MAX) throw_msg("seccomp", "", "seccomp: filter too long");
  long r = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, s.flags, &prog);
  if (r < 0) throw_sys("seccomp", "seccomp(SECCOMP_SET_MODE_FILTER)");
  // With SECCOMP_FILTER_FLAG_NEW_LISTENER the result is the notify fd (O_CLOEXEC), else 0.
  return tsrun::UniqueFd((s.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) ? static_cast<int>(r) : -1);
}

void close_stray_fds(const PreservedFds& pre, std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned first = 3 + pre.count;
  // Kept fds are O_CLOEXEC: they outlive this call (the seccomp listener until the filter is
  // loaded, the exec fifo's write end until execve) and execve still closes them.
  for (int k : keep) {
    if (k < static_cast<int>(first)) continue;
    unsigned ku = static_cast<unsigned>(k);
    if (ku > first && ::syscall(SYS_close_range, first, ku - 1, 0) < 0) throw_sys("close fds", "close_range");
    first = ku + 1;
  }
  if (::syscall(SYS_close_range, first, ~0U, 0) < 0) throw_sys("close fds", "close_range");
  for (int i = 0; i < pre.count; i++) {
    int fd = 3 + i;
    if (!pre.open_at_start[i]) {
      ::close(fd);  // oci-init's own fd that fell into a hole of the preserved range
      continue;
    }
    int fl = ::fcntl(fd, F_GETFD);
    if (fl < 0 || ::fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC) < 0) throw_sys("close fds", "fcntl(F_SETFD)");
  }
}

void exec_container(const std::string& path, const std::vector<std::string>& args, const std::vector<std::string>& env) {
  std::vector<char*> argv, envp;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  ::execve(path.c_str(), argv.data(), envp.data());
  int e = errno;
  std::string msg = "exec " + path + ": " + errno_text(e) + "\n";
  (void)!::write(2, msg.data(), msg.size());
  ::_exit(e == ENOENT ? 127 : 126);
}

}  // namespace ociinit
