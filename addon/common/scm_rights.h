// Sending one file descriptor with SCM_RIGHTS, shared by the addon (sendFd: the console socket) and
// by oci-init (the pty master on the sync channel, the notify fd to a seccomp listener).
#pragma once

#include <cstring>
#include <string>
#include <sys/socket.h>
#include <sys/uio.h>

#include "common/unique_fd.h"

namespace tsrun {

// sendmsg() of `data` with `fd` attached. MSG_NOSIGNAL: a peer that went away is an error for the
// caller to report, not a SIGPIPE death. Returns what sendmsg returned (bytes sent, or -1/errno).
inline ssize_t send_with_fd(int sock, const std::string& data, int fd) {
  struct iovec iov{const_cast<char*>(data.data()), data.size()};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = control;
  mh.msg_controllen = sizeof control;
  struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  return retry_eintr([&] { return ::sendmsg(sock, &mh, MSG_NOSIGNAL); });
}

}  // namespace tsrun
