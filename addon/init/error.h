// How oci-init fails: every setup step throws InitError; main() catches it, sends it to the parent
// as the protocol's `error` message ({step, syscall, errno, path, message}) and exits 1.
#pragma once

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace ociinit {

struct InitError : std::runtime_error {
  std::string step;     // e.g. "mount", "pivot_root", "capabilities"
  std::string syscall;  // "" when not a syscall failure
  int err = 0;          // errno
  std::string path;     // path as the config named it, "" when none

  InitError(std::string step_, std::string syscall_, int err_, std::string path_, const std::string& msg)
      : std::runtime_error(msg), step(std::move(step_)), syscall(std::move(syscall_)), err(err_), path(std::move(path_)) {}
};

// errno as Go (and so runc) spells it: strerror in lower case ("no such file or directory"). Clients
// read the runtime's error text: docker turns "no such file or directory" into exit 127 and
// "permission denied" into 126 (CLIENTS.md), and only matches the lower-case spelling.
inline std::string errno_text(int e) {
  std::string s = std::strerror(e);
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

// Throws for a failed syscall with errno: message "<step> <path>: <syscall>: <errno_text>".
[[noreturn]] inline void throw_sys(const std::string& step, const char* syscall, const std::string& path = "", int e = errno) {
  std::string msg = step;
  if (!path.empty()) msg += " " + path;
  msg += ": ";
  msg += syscall;
  msg += ": ";
  msg += errno_text(e);
  throw InitError(step, syscall, e, path, msg);
}

// Throws a failure that is not a syscall error.
[[noreturn]] inline void throw_msg(const std::string& step, const std::string& path, const std::string& msg) {
  throw InitError(step, "", 0, path, msg);
}

}  // namespace ociinit
