// Sync protocol framing and the typed messages (see sync.h for the order table).
#include "init/sync.h"

#include "common/scm_rights.h"

#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include "common/unique_fd.h"

namespace ociinit {
namespace {

using json = nlohmann::json;

// Position in kProtocolOrder: each send/receive checks it is the next entry, so a reordering in
// main.cc fails loudly instead of deadlocking against the parent.
size_t g_pos = 0;
const ProtocolStep* g_order = kProtocolOrder;
size_t g_order_len = sizeof(kProtocolOrder) / sizeof(kProtocolOrder[0]);

void advance(Dir dir, const char* type) {
  // Skip optional entries that were not used (their place has passed).
  while (g_pos < g_order_len && g_order[g_pos].optional &&
         (g_order[g_pos].dir != dir || std::strcmp(g_order[g_pos].type, type) != 0)) {
    g_pos++;
  }
  if (g_pos >= g_order_len || g_order[g_pos].dir != dir || std::strcmp(g_order[g_pos].type, type) != 0) {
    throw_msg("sync", "", std::string("sync: message ") + type + " out of order");
  }
  g_pos++;
}

// Reads exactly len bytes. Returns the number read before end of stream (len when complete).
size_t read_full(int fd, char* buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t r = tsrun::retry_eintr([&] { return ::read(fd, buf + got, len - got); });
    if (r < 0) throw_sys("sync", "read");
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

// Serialises a message; invalid UTF-8 (a path or strerror in an odd locale) is replaced rather
// than thrown on, so an error report can never itself fail to encode.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json recv_message(int fd, const char* want) {
  std::string body;
  if (!read_frame(fd, body)) throw_msg("sync", "", std::string("sync: parent closed the socket before ") + want);
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw_msg("sync", "", std::string("sync: ") + want + " message is not a JSON object");
  auto t = j.find("type");
  if (t == j.end() || !t->is_string() || t->get<std::string>() != want) {
    throw_msg("sync", "", std::string("sync: expected ") + want + " message, got " + (t == j.end() ? "none" : dump(*t)));
  }
  advance(Dir::ParentToChild, want);
  return j;
}

void send_type(int fd, const char* type) {
  advance(Dir::ChildToParent, type);
  write_frame(fd, dump(json{{"type", type}}));
}

}  // namespace

bool read_frame(int fd, std::string& body) {
  unsigned char hdr[4];
  size_t got = read_full(fd, reinterpret_cast<char*>(hdr), 4);
  if (got == 0) return false;
  if (got < 4) throw_msg("sync", "", "sync: truncated frame header");
  uint32_t len = uint32_t(hdr[0]) | uint32_t(hdr[1]) << 8 | uint32_t(hdr[2]) << 16 | uint32_t(hdr[3]) << 24;
  if (len > kMaxFrame) throw_msg("sync", "", "sync: frame of " + std::to_string(len) + " bytes exceeds the limit");
  body.resize(len);
  if (read_full(fd, body.data(), len) != len) throw_msg("sync", "", "sync: truncated frame");
  return true;
}

void write_frame(int fd, const std::string& body) {
  if (body.size() > kMaxFrame) throw_msg("sync", "", "sync: message too large");
  std::string frame;
  frame.reserve(4 + body.size());
  uint32_t len = static_cast<uint32_t>(body.size());
  for (int i = 0; i < 4; i++) frame.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  frame += body;
  size_t off = 0;
  while (off < frame.size()) {
    // MSG_NOSIGNAL: SIGPIPE is at its default (killing) disposition here, and a parent that went
    // away must turn into an error return, not a silent death (plain write() if not a socket).
    ssize_t w = tsrun::retry_eintr([&] { return ::send(fd, frame.data() + off, frame.size() - off, MSG_NOSIGNAL); });
    if (w < 0 && errno == ENOTSOCK) w = tsrun::retry_eintr([&] { return ::write(fd, frame.data() + off, frame.size() - off); });
    if (w < 0) throw_sys("sync", "write");
    off += static_cast<size_t>(w);
  }
}

std::string recv_plan(int fd) {
  json j = recv_message(fd, "plan");
  auto p = j.find("plan");
  if (p == j.end() || !p->is_object()) throw_msg("sync", "", "sync: plan message has no plan object");
  return dump(*p);
}

Resume recv_resume(int fd) {
  json j = recv_message(fd, "resume");
  Resume r;
  auto c = j.find("createState");
  auto s = j.find("startState");
  if (c == j.end() || !c->is_string() || s == j.end() || !s->is_string()) {
    throw_msg("sync", "", "sync: resume message lacks createState/startState strings");
  }
  r.create_state = c->get<std::string>();
  r.start_state = s->get<std::string>();
  return r;
}

// Both tables start with `plan`, so switching after it was received keeps the position.
void use_exec_order() {
  g_order = kExecProtocolOrder;
  g_order_len = sizeof(kExecProtocolOrder) / sizeof(kExecProtocolOrder[0]);
}

void send_mounted(int fd) { send_type(fd, "mounted"); }
void send_ready(int fd) { send_type(fd, "ready"); }

void send_pty(int fd, int master, const std::string& name) {
  send_type(fd, "pty");
  // The fd travels in a message of its own: the parent reads frames with plain read(), which
  // would discard SCM_RIGHTS riding on frame bytes; recvmsg stops after the skb carrying fds.
  std::string data = name.empty() ? std::string(1, '\0') : name;
  ssize_t n = tsrun::send_with_fd(fd, data, master);
  if (n < 0) throw_sys("console", "sendmsg");
  if (static_cast<size_t>(n) != data.size()) throw_msg("console", "", "console: short sendmsg of the pty master");
}

void send_error(int fd, const InitError& e) noexcept {
  try {
    json j{{"type", "error"}, {"step", e.step}, {"syscall", e.syscall}, {"errno", e.err}, {"path", e.path}, {"message", e.what()}};
    write_frame(fd, dump(j));
  } catch (...) {
  }
}

}  // namespace ociinit
