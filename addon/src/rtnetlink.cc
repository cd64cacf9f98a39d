// rtnetlink requests for netdev.cc (see rtnetlink.h).
#include "rtnetlink.h"

#include <sched.h>
#include <signal.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace tsrun::rtnl {

Request::Request(uint16_t type, uint16_t flags) {
  nlmsghdr h = {};
  h.nlmsg_type = type;
  h.nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
  Put(&h, sizeof h);
}

void Request::Pad() { buf_.resize(NLMSG_ALIGN(buf_.size()), 0); }

void Request::Put(const void* data, size_t len) {
  const char* p = static_cast<const char*>(data);
  buf_.insert(buf_.end(), p, p + len);
  Pad();
}

void Request::Attr(uint16_t type, const void* data, size_t len) {
  rtattr a = {};
  a.rta_type = type;
  a.rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
  const char* h = reinterpret_cast<const char*>(&a);
  buf_.insert(buf_.end(), h, h + sizeof a);
  Pad();
  const char* p = static_cast<const char*>(data);
  buf_.insert(buf_.end(), p, p + len);
  Pad();
}

bool Request::IsDump() const {
  nlmsghdr h;
  std::memcpy(&h, buf_.data(), sizeof h);
  return (h.nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
}

const std::vector<char>& Request::Finish(uint32_t seq) {
  nlmsghdr h;
  std::memcpy(&h, buf_.data(), sizeof h);
  h.nlmsg_len = static_cast<uint32_t>(buf_.size());
  h.nlmsg_seq = seq;
  // A dump ends with NLMSG_DONE; everything else is acknowledged, so success is never silent.
  if (!IsDump()) h.nlmsg_flags |= NLM_F_ACK;
  std::memcpy(buf_.data(), &h, sizeof h);
  return buf_;
}

int Socket::Open(int ns_fd) {
  auto make = [this]() -> int {
    fd_.reset(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    return fd_ ? 0 : errno;
  };
  if (ns_fd < 0) return make();
  int err = 0;
  // Every signal blocked from the thread's first instruction (the mask is inherited): Node's
  // handlers stay on its own threads. setns(CLONE_NEWNET) affects only the calling thread.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  std::thread t([&] { err = setns(ns_fd, CLONE_NEWNET) == 0 ? make() : errno; });
  t.join();
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return err;
}

int Socket::Transact(Request& req, const std::function<void(const nlmsghdr*)>& on_reply) {
  const uint32_t seq = ++seq_;
  const bool dump = req.IsDump();
  const std::vector<char>& out = req.Finish(seq);
  sockaddr_nl kernel = {};
  kernel.nl_family = AF_NETLINK;
  ssize_t n = retry_eintr([&] {
    return sendto(fd_.get(), out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
  });
  if (n < 0) return errno;
  alignas(nlmsghdr) static thread_local char buf[65536];
  for (;;) {
    // MSG_TRUNC: the real length even when it did not fit, so a cut message is an error instead
    // of a wait for a rest that never comes.
    ssize_t got = retry_eintr([&] { return recv(fd_.get(), buf, sizeof buf, MSG_TRUNC); });
    if (got < 0) return errno;
    if (got == 0) return EIO;
    if (static_cast<size_t>(got) > sizeof buf) return EMSGSIZE;
    int len = static_cast<int>(got);
    for (auto* h = reinterpret_cast<const nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != seq) continue;  // a late reply to an earlier request
      if (h->nlmsg_type == NLMSG_DONE && dump) return 0;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
        return -e->error;
      }
      if (on_reply) on_reply(h);
    }
  }
}

void ForEachAttr(const rtattr* first, int len, const std::function<void(uint16_t, const void*, size_t)>& f) {
  for (const rtattr* a = first; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    f(a->rta_type, RTA_DATA(a), RTA_PAYLOAD(a));
  }
}

}  // namespace tsrun::rtnl
