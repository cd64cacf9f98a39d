// A minimal rtnetlink client for netdev.cc: build one request, send it, read the replies up to
// the kernel's acknowledgement (netlink(7), rtnetlink(7)). Errors are positive errno values.
#pragma once

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/unique_fd.h"

namespace tsrun::rtnl {

// One request: nlmsghdr, the fixed family header (ifinfomsg, ifaddrmsg), then attributes, each
// padded to NLMSG_ALIGNTO / RTA_ALIGNTO as the kernel's parser expects.
class Request {
 public:
  Request(uint16_t type, uint16_t flags);
  void Put(const void* data, size_t len);
  void Attr(uint16_t type, const void* data, size_t len);
  void AttrU32(uint16_t type, uint32_t value) { Attr(type, &value, sizeof value); }
  // NUL-terminated, as IFLA_IFNAME must be (nla_strscpy).
  void AttrString(uint16_t type, const std::string& s) { Attr(type, s.c_str(), s.size() + 1); }
  // Finishes the header (length, sequence number) and returns the bytes to send.
  const std::vector<char>& Finish(uint32_t seq);
  bool IsDump() const;

 private:
  void Pad();
  std::vector<char> buf_;
};

// A NETLINK_ROUTE socket bound to the network namespace it was created in, for its whole life
// (the kernel takes the namespace from the creating thread, net/netlink/af_netlink.c).
class Socket {
 public:
  // ns_fd < 0: the calling thread's namespace. Otherwise a short-lived std::thread setns()es into
  // ns_fd and creates the socket there; the Node thread never changes namespace. 0 or an errno.
  int Open(int ns_fd);
  // Sends `req` and calls `on_reply` for every reply message until the acknowledgement (or
  // NLMSG_DONE for a dump). Returns 0 or the errno the kernel answered with.
  int Transact(Request& req, const std::function<void(const nlmsghdr*)>& on_reply = nullptr);

 private:
  UniqueFd fd_;
  uint32_t seq_ = 0;
};

// Calls f(type, data, len) for every attribute in [first, first+len).
void ForEachAttr(const rtattr* first, int len, const std::function<void(uint16_t, const void*, size_t)>& f);

}  // namespace tsrun::rtnl
