#include "init/namespaces.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>

#include "common/unique_fd.h"
#include "init/error.h"

namespace ociinit {

void join_namespaces(const Plan& plan) {
  std::vector<tsrun::UniqueFd> fds;
  fds.reserve(plan.join_namespaces.size());
  for (const auto& j : plan.join_namespaces) {
    tsrun::UniqueFd fd(tsrun::retry_eintr([&] { return ::open(j.path.c_str(), O_RDONLY | O_CLOEXEC); }));
    if (!fd) throw_sys("join namespace", "open", j.path);
    fds.push_back(std::move(fd));
  }
  for (size_t i = 0; i < fds.size(); i++) {
    // nstype makes the kernel check the file really is a namespace of the configured type.
    if (::setns(fds[i].get(), plan.join_namespaces[i].nstype) < 0) throw_sys("join namespace", "setns", plan.join_namespaces[i].path);
  }
}

namespace {

void write_time_offsets(const Plan& plan, int procfd) {
  std::string text;
  for (const auto& t : plan.time_offsets) {
    char line[96];
    std::snprintf(line, sizeof line, "%s %lld %lld\n", t.clock.c_str(), static_cast<long long>(t.secs),
                  static_cast<long long>(t.nanosecs));
    text += line;
  }
  if (text.empty()) return;
  tsrun::UniqueFd fd(tsrun::retry_eintr([&] { return ::openat(procfd, "self/timens_offsets", O_WRONLY | O_CLOEXEC); }));
  if (!fd) throw_sys("time namespace", "open", "/proc/self/timens_offsets");
  // One write: the kernel applies the whole set or none of it.
  ssize_t w = tsrun::retry_eintr([&] { return ::write(fd.get(), text.data(), text.size()); });
  if (w < 0) throw_sys("time namespace", "write", "/proc/self/timens_offsets");
  if (static_cast<size_t>(w) != text.size()) throw_msg("time namespace", "/proc/self/timens_offsets", "time namespace: short write of timens_offsets");
}

}  // namespace

void late_unshare(const Plan& plan, int procfd) {
  if (plan.late_unshare_flags == 0) return;
  if (::unshare(plan.late_unshare_flags) < 0) throw_sys("unshare", "unshare");
  if (plan.late_unshare_flags & CLONE_NEWTIME) write_time_offsets(plan, procfd);
}

}  // namespace ociinit
