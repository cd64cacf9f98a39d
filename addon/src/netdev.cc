// netdevCheck / netdevMove: runtime-spec v1.3.0 config-linux.md "Network Devices". A host interface
// is moved into the container's network namespace (and, to undo a failed create, back out) with
// one RTM_NEWLINK carrying IFLA_NET_NS_FD and IFLA_IFNAME, so the move and the rename happen in one
// request and a name clash cannot catch the device half-way under its old name.
//
// Both namespaces are given as fds (/proc/<pid>/ns/net, a namespaces[].path, /proc/self/ns/net).
// A netlink socket belongs to the namespace it was created in, so each side gets its own socket,
// made by a helper thread that setns()es (rtnetlink.cc): simpler than IFLA_TARGET_NETNSID, which
// would first have to register a namespace id in the host's table, a change visible to others.
//
// The kernel drops a device's addresses when it changes namespace. As the spec asks (and runc
// does), the permanent addresses of global scope are read first and added again on the other side
// (RFC 3549 2.3.3.2); the device is taken down for the move and set up afterwards.
#include <arpa/inet.h>
#include <net/if.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "addon.h"
#include "rtnetlink.h"
#include "sys_error.h"

namespace tsrun {

namespace {

using rtnl::Request;
using rtnl::Socket;

struct Link {
  int index = 0;
  unsigned flags = 0;
  std::string name;
};

// One address as the kernel reported it: the fixed header and the attributes that define it.
struct Address {
  ifaddrmsg msg = {};
  uint32_t flags = 0;
  std::vector<std::pair<uint16_t, std::string>> attrs;
  std::string text;
};

// A failed step: errno, the request that failed, the device it was about.
struct Failure {
  int err = 0;
  std::string step;
  std::string device;
  std::string detail;
};

// Looks a link up by name (index 0) or by index.
int GetLink(Socket& s, const std::string& name, int index, Link* out) {
  Request req(RTM_GETLINK, 0);
  ifinfomsg ifi = {};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  req.Put(&ifi, sizeof ifi);
  if (index == 0) req.AttrString(IFLA_IFNAME, name);
  return s.Transact(req, [&](const nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWLINK) return;
    const auto* m = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
    out->index = m->ifi_index;
    out->flags = m->ifi_flags;
    rtnl::ForEachAttr(IFLA_RTA(m), static_cast<int>(IFLA_PAYLOAD(h)), [&](uint16_t type, const void* d, size_t n) {
      if (type == IFLA_IFNAME) out->name.assign(static_cast<const char*>(d), strnlen(static_cast<const char*>(d), n));
    });
  });
}

std::string AddressText(const ifaddrmsg& m, const std::string& raw) {
  char text[INET6_ADDRSTRLEN] = "?";
  inet_ntop(m.ifa_family, raw.data(), text, sizeof text);
  return std::string(text) + "/" + std::to_string(m.ifa_prefixlen);
}

// The addresses the spec says survive the move: IFA_F_PERMANENT (set by hand, not autoconfigured
// or from DHCP with a lifetime) and RT_SCOPE_UNIVERSE (not link- or host-local).
int PermanentGlobalAddresses(Socket& s, int index, std::vector<Address>* out) {
  Request req(RTM_GETADDR, NLM_F_DUMP);
  ifaddrmsg ifa = {};
  ifa.ifa_family = AF_UNSPEC;
  req.Put(&ifa, sizeof ifa);
  return s.Transact(req, [&](const nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWADDR) return;
    const auto* m = static_cast<const ifaddrmsg*>(NLMSG_DATA(h));
    if (static_cast<int>(m->ifa_index) != index || m->ifa_scope != RT_SCOPE_UNIVERSE) return;
    Address a;
    a.msg = *m;
    a.flags = m->ifa_flags;
    std::string local;
    rtnl::ForEachAttr(IFA_RTA(m), static_cast<int>(IFA_PAYLOAD(h)), [&](uint16_t type, const void* d, size_t n) {
      std::string v(static_cast<const char*>(d), n);
      if (type == IFA_FLAGS && n == sizeof(uint32_t)) std::memcpy(&a.flags, d, n);
      if (type == IFA_LOCAL) local = v;
      if (type == IFA_LOCAL || type == IFA_ADDRESS || type == IFA_BROADCAST) a.attrs.emplace_back(type, v);
      if (type == IFA_ADDRESS && local.empty() && a.text.empty()) a.text = AddressText(*m, v);
    });
    if (!local.empty()) a.text = AddressText(*m, local);
    if (a.flags & IFA_F_PERMANENT) out->push_back(std::move(a));
  });
}

int SetUp(Socket& s, int index, bool up) {
  Request req(RTM_NEWLINK, 0);
  ifinfomsg ifi = {};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  ifi.ifi_change = IFF_UP;
  ifi.ifi_flags = up ? IFF_UP : 0;
  req.Put(&ifi, sizeof ifi);
  return s.Transact(req);
}

// Moves and renames in one request (net/core/rtnetlink.c do_setlink: the namespace change, then
// the rename inside the new namespace; a "%d" name is a template the kernel completes).
int MoveLink(Socket& s, int index, const std::string& name, int ns_fd) {
  Request req(RTM_NEWLINK, 0);
  ifinfomsg ifi = {};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  req.Put(&ifi, sizeof ifi);
  req.AttrU32(IFLA_NET_NS_FD, static_cast<uint32_t>(ns_fd));
  req.AttrString(IFLA_IFNAME, name);
  return s.Transact(req);
}

int Rename(Socket& s, int index, const std::string& name) {
  Request req(RTM_NEWLINK, 0);
  ifinfomsg ifi = {};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  req.Put(&ifi, sizeof ifi);
  req.AttrString(IFLA_IFNAME, name);
  return s.Transact(req);
}

int AddAddress(Socket& s, int index, const Address& a) {
  Request req(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  ifaddrmsg ifa = a.msg;
  ifa.ifa_index = static_cast<uint32_t>(index);
  ifa.ifa_flags = 0;
  req.Put(&ifa, sizeof ifa);
  for (const auto& [type, value] : a.attrs) req.Attr(type, value.data(), value.size());
  // Flags the user chose that still mean something in the new namespace.
  uint32_t keep = a.flags & (IFA_F_NODAD | IFA_F_NOPREFIXROUTE | IFA_F_HOMEADDRESS | IFA_F_MANAGETEMPADDR);
  if (keep != 0) req.AttrU32(IFA_FLAGS, keep);
  return s.Transact(req);
}

bool IsTemplate(const std::string& name) { return name.find('%') != std::string::npos; }

// The name a device moves under when its final name is a "%d" template: one only this move uses,
// so the device is found by name on the other side; the kernel then completes the template with a
// rename by index. (Moving under the template itself would leave only the index to find it by,
// and the kernel gives the device a new index when the target namespace already uses its own.)
std::string TransitName(int index) { return "tsrn-mv" + std::to_string(index); }

// The checks the spec requires before a move: the device exists on the source side and its name
// is free on the target side (a "%d" template is completed by the kernel, so it cannot clash).
bool Check(Socket& src, Socket& dst, const std::string& name, const std::string& new_name, Link* link, Failure* f) {
  if (int err = GetLink(src, name, 0, link)) {
    *f = {err, "RTM_GETLINK", name, "no such network interface in the source network namespace"};
    return false;
  }
  Link taken;
  if (!IsTemplate(new_name) && GetLink(dst, new_name, 0, &taken) == 0) {
    *f = {EEXIST, "RTM_GETLINK", new_name, "a network interface of that name exists in the target network namespace"};
    return false;
  }
  return true;
}

struct Moved {
  Link link;  // as found on the target side afterwards
  bool was_up = false;
  std::vector<Address> addrs;
};

// Configures a device that just arrived: its addresses, then up. 0 or an errno (step in *step).
int Configure(Socket& dst, const Link& link, const std::vector<Address>& addrs, bool up, std::string* step) {
  for (const Address& a : addrs) {
    if (int err = AddAddress(dst, link.index, a)) {
      *step = "RTM_NEWADDR " + a.text;
      return err;
    }
  }
  *step = "RTM_NEWLINK IFF_UP";
  return up ? SetUp(dst, link.index, true) : 0;
}

// Puts `moved`, now on the target side, back where it came from under its old name, as it was.
// Best effort: it runs only while another error is being reported.
void Undo(Socket& src, Socket& dst, int src_ns, const Link& moved, const std::string& name, const std::vector<Address>& addrs,
          bool was_up) {
  Link back;
  if (MoveLink(dst, moved.index, name, src_ns) != 0 || GetLink(src, name, 0, &back) != 0) return;
  std::string step;
  Configure(src, back, addrs, was_up, &step);
}

// The device arrived on the target side under `move_name`: complete a template name, then its
// addresses and up state. 0 or an errno (the failed step in *step); out->link set once found.
int Arrive(Socket& dst, const std::string& move_name, const std::string& new_name, bool up, Moved* out, std::string* step) {
  *step = "RTM_GETLINK";
  int err = GetLink(dst, move_name, 0, &out->link);
  if (err == 0 && move_name != new_name) {
    *step = "RTM_NEWLINK IFLA_IFNAME " + new_name;
    if ((err = Rename(dst, out->link.index, new_name)) == 0) err = GetLink(dst, "", out->link.index, &out->link);
  }
  return err != 0 ? err : Configure(dst, out->link, out->addrs, up, step);
}

bool Transfer(Socket& src, Socket& dst, int src_ns, int dst_ns, const std::string& name, const std::string& new_name, bool up,
              Moved* out, Failure* f) {
  Link link;
  if (!Check(src, dst, name, new_name, &link, f)) return false;
  if (int err = PermanentGlobalAddresses(src, link.index, &out->addrs)) {
    *f = {err, "RTM_GETADDR", name, ""};
    return false;
  }
  out->was_up = (link.flags & IFF_UP) != 0;
  // Down first, as runc: nothing on the source side keeps using the device while it leaves.
  if (out->was_up && (f->err = SetUp(src, link.index, false)) != 0) {
    *f = {f->err, "RTM_NEWLINK IFF_UP", name, ""};
    return false;
  }
  const std::string move_name = IsTemplate(new_name) ? TransitName(link.index) : new_name;
  if (int err = MoveLink(src, link.index, move_name, dst_ns)) {
    Link still;
    if (GetLink(src, "", link.index, &still) == 0) {
      if (out->was_up) SetUp(src, link.index, true);
    } else if (Link there; GetLink(dst, name, 0, &there) == 0) {
      Undo(src, dst, src_ns, there, name, out->addrs, out->was_up);  // moved, then the rename failed
    }
    *f = {err, "RTM_NEWLINK IFLA_NET_NS_FD", name, "moving to " + new_name};
    return false;
  }
  std::string step;
  if (int err = Arrive(dst, move_name, new_name, up, out, &step)) {
    if (out->link.index != 0) Undo(src, dst, src_ns, out->link, name, out->addrs, out->was_up);
    *f = {err, step, new_name, "in the target network namespace"};
    return false;
  }
  return true;
}

struct Args {
  std::string name, new_name;
  int32_t from_ns = -1, to_ns = -1;
  bool up = false;
};

bool ReadArgs(const Napi::CallbackInfo& info, bool with_up, Args* a) {
  return ArgString(info, 0, "name", &a->name) && ArgString(info, 1, "newName", &a->new_name) &&
         ArgInt(info, 2, "fromNsFd", &a->from_ns) && ArgInt(info, 3, "toNsFd", &a->to_ns) &&
         (!with_up || ArgBool(info, 4, "up", &a->up));
}

bool OpenBoth(Napi::Env env, const Args& a, Socket* src, Socket* dst) {
  if (int err = src->Open(a.from_ns)) {
    ThrowSys(env, err, "setns", "", "netlink socket in the source network namespace");
    return false;
  }
  if (int err = dst->Open(a.to_ns)) {
    ThrowSys(env, err, "setns", "", "netlink socket in the target network namespace");
    return false;
  }
  return true;
}

void ThrowFailure(Napi::Env env, const Failure& f) { ThrowSys(env, f.err, f.step, f.device, f.detail); }

// netdevCheck(name, newName, fromNsFd, toNsFd): throws what netdevMove would refuse up front.
Napi::Value NetdevCheck(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args a;
  Socket src, dst;
  if (!ReadArgs(info, false, &a) || !OpenBoth(env, a, &src, &dst)) return env.Undefined();
  Link link;
  Failure f;
  if (!Check(src, dst, a.name, a.new_name, &link, &f)) ThrowFailure(env, f);
  return env.Undefined();
}

// netdevMove(name, newName, fromNsFd, toNsFd, up): {name, index, wasUp, addresses}. On failure
// the device is left (or put back) on the source side.
Napi::Value NetdevMove(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args a;
  Socket src, dst;
  if (!ReadArgs(info, true, &a) || !OpenBoth(env, a, &src, &dst)) return env.Undefined();
  Moved moved;
  Failure f;
  if (!Transfer(src, dst, a.from_ns, a.to_ns, a.name, a.new_name, a.up, &moved, &f)) {
    ThrowFailure(env, f);
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("name", moved.link.name);
  out.Set("index", moved.link.index);
  out.Set("wasUp", moved.was_up);
  Napi::Array addrs = Napi::Array::New(env, moved.addrs.size());
  for (uint32_t i = 0; i < moved.addrs.size(); i++) addrs.Set(i, moved.addrs[i].text);
  out.Set("addresses", addrs);
  return out;
}

}  // namespace

void InitNetdev(Napi::Env env, Napi::Object exports) {
  exports.Set("netdevCheck", Napi::Function::New(env, NetdevCheck, "netdevCheck"));
  exports.Set("netdevMove", Napi::Function::New(env, NetdevMove, "netdevMove"));
}

}  // namespace tsrun
