// The C++ side of the parent<->oci-init sync protocol (src/process/protocol.ts is the other side;
// keep the two in step). Framing: 4-byte little-endian length, then that many bytes of UTF-8 JSON
// holding one message object; a frame over kMaxFrame bytes is a protocol error.
//
//   #  direction        message    meaning
//   1  parent → child   plan       cgroup placed, id maps written; here is everything to do
//   2  child  → parent  mounted    mounts, devices and symlinks done, before pivot_root: the parent
//                                  now runs the prestart and createRuntime hooks (runtime namespace)
//   3  parent → child   resume     hooks done; carries the state JSON the container-side hooks read
//  (4) child  → parent  pty        OPTIONAL, only when process.terminal: the pty was allocated in
//                                  the container's devpts; the frame is followed by one sendmsg
//                                  whose SCM_RIGHTS carries the master (data: its name, as runc's
//                                  SendRawFd), read by the parent with recvmsg (native recvFd)
//   4  child  → parent  ready      pivot_root, masks, sysctl, identity and the executable lookup
//                                  done; the child now blocks opening the exec fifo (see below)
//
// Instead of `mounted` or `ready` the child may send `error` and exit non-zero; nothing follows.
// An optional entry (number in parentheses) is either sent at its place or skipped; it never moves.
//
// Exec plans (`tsrun exec`, plan mode "exec") skip 2 and 3: no mounts, no hooks, no exec fifo.
//   1  parent → child   plan       cgroup placed; join the container and run process.args
//  (2) child  → parent  pty        OPTIONAL, as (4) above: process.terminal without /dev/console
//   2  child  → parent  ready      namespaces joined, identity and lookup done; execve follows
#pragma once

#include <cstddef>
#include <string>

#include "init/error.h"

namespace ociinit {

constexpr size_t kMaxFrame = 16 * 1024 * 1024;

enum class Dir { ParentToChild, ChildToParent };

struct ProtocolStep {
  Dir dir;
  const char* type;
  bool optional = false;  // may be skipped (see the table)
};

// Machine-readable copy of the table above (PROTOCOL_ORDER in protocol.ts).
inline constexpr ProtocolStep kProtocolOrder[] = {
    {Dir::ParentToChild, "plan"},
    {Dir::ChildToParent, "mounted"},
    {Dir::ParentToChild, "resume"},
    {Dir::ChildToParent, "pty", true},
    {Dir::ChildToParent, "ready"},
};

// Machine-readable copy of the exec table (EXEC_PROTOCOL_ORDER in protocol.ts).
inline constexpr ProtocolStep kExecProtocolOrder[] = {
    {Dir::ParentToChild, "plan"},
    {Dir::ChildToParent, "pty", true},
    {Dir::ChildToParent, "ready"},
};

// Switches the order check to kExecProtocolOrder; called right after an exec plan was decoded.
void use_exec_order();

// Reads one frame body. Returns false on a clean end of stream before any byte of the frame;
// throws InitError (step "sync") on a short frame, an oversized length or a read error.
bool read_frame(int fd, std::string& body);
// Writes one frame (whole, retrying partial writes and EINTR); throws InitError on failure.
void write_frame(int fd, const std::string& body);

// Receives the `plan` message and returns the raw JSON text of its `plan` member (decoded by
// decode_plan in plan.cc). Throws InitError if the stream ends or another type arrives.
std::string recv_plan(int fd);

struct Resume {
  std::string create_state;
  std::string start_state;
};
Resume recv_resume(int fd);

void send_mounted(int fd);
void send_ready(int fd);
// The `pty` message, then `master` with SCM_RIGHTS in a message of its own whose data is `name`.
void send_pty(int fd, int master, const std::string& name);
// Best effort: errors while sending an error are ignored (the parent sees end of stream instead).
void send_error(int fd, const InitError& e) noexcept;

}  // namespace ociinit
