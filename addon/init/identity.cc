#include "init/identity.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "common/unique_fd.h"
#include "init/error.h"

namespace ociinit {
namespace {

constexpr long kSelinuxMagic = 0xf97cff8c;

// Reads a small file whole (at most cap bytes); returns false when it cannot be opened.
bool read_small(int dirfd, const char* path, std::string& out, size_t cap = 1 << 20) {
  tsrun::UniqueFd fd(tsrun::retry_eintr([&] { return ::openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY); }));
  if (!fd) return false;
  struct stat st;
  // A FIFO or device planted in the image must not block or feed oci-init.
  if (::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode)) return false;
  char buf[4096];
  for (;;) {
    ssize_t r = tsrun::retry_eintr([&] { return ::read(fd.get(), buf, sizeof buf); });
    if (r <= 0) break;
    out.append(buf, static_cast<size_t>(r));
    if (out.size() >= cap) break;
  }
  return true;
}

void write_proc(int procfd, const char* rel, const std::string& value, const char* step) {
  std::string shown = std::string("/proc/") + rel;
  tsrun::UniqueFd fd(tsrun::retry_eintr([&] { return ::openat(procfd, rel, O_WRONLY | O_CLOEXEC); }));
  if (!fd) throw_sys(step, "open", shown);
  ssize_t w = tsrun::retry_eintr([&] { return ::write(fd.get(), value.data(), value.size()); });
  if (w < 0) throw_sys(step, "write", shown);
}

void apply_rlimits(const Process& p) {
  for (const auto& r : p.rlimits) {
    struct rlimit lim{static_cast<rlim_t>(r.soft), static_cast<rlim_t>(r.hard)};
    if (::prlimit(0, static_cast<__rlimit_resource>(r.resource), &lim, nullptr) < 0) {
      throw_sys("rlimit " + std::to_string(r.resource), "prlimit");
    }
  }
}

struct SchedAttr {  // struct sched_attr, SCHED_ATTR_SIZE_VER0 layout (glibc has no wrapper)
  uint32_t size;
  uint32_t policy;
  uint64_t flags;
  int32_t nice;
  uint32_t priority;
  uint64_t runtime, deadline, period;
};

void apply_sched_and_io(const Process& p) {
  if (p.personality && ::personality(*p.personality) < 0) throw_sys("personality", "personality");
  if (p.scheduler) {
    const Scheduler& s = *p.scheduler;
    SchedAttr a{sizeof(SchedAttr), s.policy, s.flags, s.nice, s.priority, s.runtime, s.deadline, s.period};
    if (::syscall(SYS_sched_setattr, 0, &a, 0) < 0) throw_sys("scheduler", "sched_setattr");
  }
  // IOPRIO_WHO_PROCESS = 1, who = 0: this process.
  if (p.io_priority && ::syscall(SYS_ioprio_set, 1, 0, *p.io_priority) < 0) throw_sys("ioPriority", "ioprio_set");
}

// The label applies at the next execve, so it is written now and takes effect on the container
// process only (runc: apparmor.ApplyProfile / selinux.SetExecLabel).
void apply_lsm(const Process& p, int procfd) {
  if (p.apparmor_profile && !p.apparmor_profile->empty()) {
    std::string v = "exec " + *p.apparmor_profile;
    struct stat st;
    const char* rel = ::fstatat(procfd, "self/attr/apparmor/exec", &st, 0) == 0 ? "self/attr/apparmor/exec" : "self/attr/exec";
    write_proc(procfd, rel, v, "apparmor");
  }
  if (p.selinux_label && !p.selinux_label->empty()) write_proc(procfd, "self/attr/exec", *p.selinux_label, "selinux");
}

uint64_t cap_mask(const std::vector<int>& caps) {
  uint64_t m = 0;
  for (int c : caps) {
    if (c < 0 || c > 63) throw_msg("capabilities", "", "capabilities: capability number " + std::to_string(c) + " out of range");
    m |= uint64_t(1) << c;
  }
  return m;
}

struct CapSets {
  uint64_t effective = 0, permitted = 0, inheritable = 0;
};

CapSets capget_self() {
  __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct d[2]{};
  if (::syscall(SYS_capget, &h, d) < 0) throw_sys("capabilities", "capget");
  CapSets s;
  s.effective = d[0].effective | uint64_t(d[1].effective) << 32;
  s.permitted = d[0].permitted | uint64_t(d[1].permitted) << 32;
  s.inheritable = d[0].inheritable | uint64_t(d[1].inheritable) << 32;
  return s;
}

void capset_self(const CapSets& s) {
  __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct d[2]{};
  d[0] = {uint32_t(s.effective), uint32_t(s.permitted), uint32_t(s.inheritable)};
  d[1] = {uint32_t(s.effective >> 32), uint32_t(s.permitted >> 32), uint32_t(s.inheritable >> 32)};
  if (::syscall(SYS_capset, &h, d) < 0) throw_sys("capabilities", "capset");
}

// PR_CAPBSET_DROP needs CAP_SETPCAP, so this runs while oci-init is still root.
void drop_bounding(uint64_t keep) {
  for (int c = 0; c < 64; c++) {
    int r = ::prctl(PR_CAPBSET_READ, c, 0, 0, 0);
    if (r < 0) break;  // EINVAL: past the kernel's last capability
    if (r == 1 && !(keep & (uint64_t(1) << c)) && ::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
      throw_sys("capabilities", "prctl(PR_CAPBSET_DROP)");
    }
  }
}

void set_ids(const Process& p, int procfd) {
  int r = ::setgroups(p.additional_gids.size(), p.additional_gids.data());
  if (r < 0) {
    // In a user namespace whose setgroups is "deny" the groups cannot change at all (runc's
    // rootless case); only an empty list may be skipped there.
    std::string v;
    int e = errno;
    bool denied = read_small(procfd, "self/setgroups", v) && v.rfind("deny", 0) == 0;
    if (!(e == EPERM && denied && p.additional_gids.empty())) throw_sys("user", "setgroups", "", e);
  }
  if (::setresgid(p.gid, p.gid, p.gid) < 0) throw_sys("user", "setresgid");
  if (::setresuid(p.uid, p.uid, p.uid) < 0) throw_sys("user", "setresuid");
}

// The order is forced by the kernel: bounding drop needs CAP_SETPCAP (before the uid change);
// PR_SET_KEEPCAPS keeps the permitted set across setresuid to non-root; capset then trims it to the
// config and ambient raises need the cap in both permitted and inheritable (capabilities(7)).
// Every set is written explicitly so nothing inherited from tsrun's caller reaches the container
// (CVE-2022-29162: inheritable/ambient beyond the config).
void apply_user_and_caps(const Process& p, int procfd) {
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) throw_sys("capabilities", "prctl(PR_SET_KEEPCAPS)");
  if (!p.capabilities) {
    CapSets before = capget_self();
    set_ids(p, procfd);
    capset_self(before);
  } else {
    const Capabilities& c = *p.capabilities;
    drop_bounding(cap_mask(c.bounding));
    set_ids(p, procfd);
    capset_self(CapSets{cap_mask(c.effective), cap_mask(c.permitted), cap_mask(c.inheritable)});
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) throw_sys("capabilities", "prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
    // A cap missing from permitted or inheritable cannot be ambient (EPERM); runc skips those
    // silently, and its own `runc spec` default lists ambient caps with no inheritable set.
    for (int a : c.ambient) {
      if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, a, 0, 0) < 0 && errno != EPERM) {
        throw_sys("capabilities", "prctl(PR_CAP_AMBIENT_RAISE)");
      }
    }
  }
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) throw_sys("capabilities", "prctl(PR_SET_KEEPCAPS)");
}

}  // namespace

void check_lsm_available(const Process& p) {
  if (p.apparmor_profile && !p.apparmor_profile->empty()) {
    std::string v;
    if (!read_small(AT_FDCWD, "/sys/module/apparmor/parameters/enabled", v) || v.rfind("Y", 0) != 0) {
      throw_msg("apparmor", "", "apparmor profile \"" + *p.apparmor_profile + "\" requested but AppArmor is not enabled on this host");
    }
  }
  if (p.selinux_label && !p.selinux_label->empty()) {
    struct statfs sf;
    if (::statfs("/sys/fs/selinux", &sf) < 0 || static_cast<long>(static_cast<uint32_t>(sf.f_type)) != kSelinuxMagic) {
      throw_msg("selinux", "", "selinux label \"" + *p.selinux_label + "\" requested but SELinux is not enabled on this host");
    }
  }
}

void apply_identity(const Process& p, int procfd) {
  apply_rlimits(p);
  if (p.oom_score_adj) write_proc(procfd, "self/oom_score_adj", std::to_string(*p.oom_score_adj), "oomScoreAdj");
  apply_sched_and_io(p);
  apply_lsm(p, procfd);
  if (p.umask) ::umask(static_cast<mode_t>(*p.umask & 0777));
  apply_user_and_caps(p, procfd);
  if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) throw_sys("noNewPrivileges", "prctl(PR_SET_NO_NEW_PRIVS)");
}

bool has_effective_sys_admin() {
  return (capget_self().effective >> CAP_SYS_ADMIN) & 1;
}

std::vector<std::string> container_env(const Process& p) {
  std::vector<std::string> env = p.env;
  for (const auto& e : env) {
    if (e.rfind("HOME=", 0) == 0) return env;
  }
  std::string home = "/";
  std::string passwd;
  if (read_small(AT_FDCWD, "/etc/passwd", passwd)) {
    // name:password:uid:gid:gecos:home:shell; the first entry for the uid wins, as getpwuid.
    size_t pos = 0;
    while (pos < passwd.size()) {
      size_t end = passwd.find('\n', pos);
      if (end == std::string::npos) end = passwd.size();
      std::string line = passwd.substr(pos, end - pos);
      pos = end + 1;
      std::vector<std::string> f;
      size_t s = 0;
      for (size_t c; (c = line.find(':', s)) != std::string::npos; s = c + 1) f.push_back(line.substr(s, c - s));
      f.push_back(line.substr(s));
      if (f.size() < 7 || f[2].empty() || f[2].find_first_not_of("0123456789") != std::string::npos) continue;
      if (std::strtoul(f[2].c_str(), nullptr, 10) == p.uid && !f[5].empty()) {
        home = f[5];
        break;
      }
    }
  }
  env.push_back("HOME=" + home);
  return env;
}

}  // namespace ociinit
