// The last steps before execve of the container process (steps 11-16 of README.md's sequence).
#pragma once

#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "init/plan.h"

namespace ociinit {

// Which of the preserved fds (3..3+n-1) were open when oci-init started: only those are handed to
// the container. A hole in that range may be reused by an fd oci-init opens later (the host procfs
// fd, the sync socket...), which must never reach the container (CVE-2024-21626).
struct PreservedFds {
  int count = 0;
  std::vector<bool> open_at_start;
};

// Step 0 helpers: makes sure 0-2 are open (on /dev/null when the caller closed them) so no fd
// oci-init opens can land there, and records which preserved fds exist.
void guard_stdio();
PreservedFds snapshot_preserved(int count);

// chdir(cwd) and check the result is inside the container's root (see verify_cwd).
void enter_cwd(const std::string& cwd);
// CVE-2024-21626: a cwd reached through a leaked host fd shows up in getcwd() as "(unreachable)/..."
// and is not the configured directory: getcwd() must be absolute and both it and the configured
// path must name the very directory "." is (a symlink in the path is allowed; an escape is not).
void verify_cwd(const std::string& cwd);

// Looks up args[0] as Go's exec.LookPath does for runc, with PATH from env (default path when
// unset), and returns the path to execve. Errors carry runc's wording (docker maps them to exit
// codes 127/126): executable file not found in $PATH / stat <path>: ... / permission denied.
std::string resolve_executable(const std::string& arg0, const std::vector<std::string>& env);

// Blocks opening the exec fifo for writing until `tsrun start` opens it for reading, then writes
// one byte. fifo_fd is an O_PATH fd, reopened through procfd (self/fd/N). Returns the write end,
// O_CLOEXEC: the caller keeps it open until execve, so `tsrun start` reads end-of-file exactly when
// the container process has been executed (or oci-init died) and only then runs the poststart
// hooks (runtime-spec runtime.md: poststart after the user-specified process is executed, and so
// after every startContainer hook).
tsrun::UniqueFd signal_exec_fifo(int procfd, int fifo_fd);

void set_cpu_affinity(const std::vector<int>& cpus, const char* step);
// seccomp(SECCOMP_SET_MODE_FILTER, s.flags): returns the notify fd when s.flags asks for a
// listener, else an empty UniqueFd.
tsrun::UniqueFd load_seccomp(const Seccomp& s);

// Closes every fd but 0-2 and the preserved ones that were open at start, and clears FD_CLOEXEC
// on those (runtime-spec: --preserve-fds are inherited by the container process).
// `keep` lists O_CLOEXEC fds of oci-init's own left open (the seccomp listener socket, the exec
// fifo's write end); -1 entries are ignored.
void close_stray_fds(const PreservedFds& pre, std::vector<int> keep = {});

// execve; on failure writes runc's wording to stderr and exits 127 (ENOENT) or 126.
[[noreturn]] void exec_container(const std::string& path, const std::vector<std::string>& args,
                                 const std::vector<std::string>& env);

}  // namespace ociinit
