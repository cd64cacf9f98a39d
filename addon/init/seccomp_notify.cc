#include "init/seccomp_notify.h"

#include "common/scm_rights.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "init/error.h"

namespace ociinit {

tsrun::UniqueFd connect_listener(const SeccompListener& l) {
  struct sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (l.path.empty() || l.path.size() >= sizeof addr.sun_path) {
    throw_msg("seccomp listener", l.path, "seccomp listener " + l.path + ": path too long for a unix socket");
  }
  std::memcpy(addr.sun_path, l.path.data(), l.path.size());
  tsrun::UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) throw_sys("seccomp listener", "socket", l.path);
  if (tsrun::retry_eintr([&] { return ::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr); }) < 0) {
    throw_sys("seccomp listener", "connect", l.path);
  }
  return s;
}

namespace {

std::string process_state(const SeccompListener& l, const std::string& state_json) {
  nlohmann::json state = nlohmann::json::parse(state_json, nullptr, false);
  if (!state.is_object()) throw_msg("seccomp listener", l.path, "seccomp listener: container state is not a JSON object");
  nlohmann::json msg = {
      {"ociVersion", state.value("ociVersion", "")},
      {"fds", nlohmann::json::array({"seccompFd"})},
      {"pid", state.value("pid", 0)},
      {"metadata", l.metadata},
      {"state", state},
  };
  return msg.dump();
}

}  // namespace

void send_notify_fd(int sock, int notify_fd, const SeccompListener& l, const std::string& state_json) {
  std::string data = process_state(l, state_json);
  // The listener may be gone already: an error to report, not a SIGPIPE death.
  ssize_t n = tsrun::send_with_fd(sock, data, notify_fd);
  if (n < 0) throw_sys("seccomp listener", "sendmsg", l.path);
  // The fd went with the first byte; a stream socket may take the rest in further writes.
  for (size_t off = static_cast<size_t>(n); off < data.size();) {
    ssize_t w = tsrun::retry_eintr([&] { return ::send(sock, data.data() + off, data.size() - off, MSG_NOSIGNAL); });
    if (w < 0) throw_sys("seccomp listener", "send", l.path);
    off += static_cast<size_t>(w);
  }
}

}  // namespace ociinit
