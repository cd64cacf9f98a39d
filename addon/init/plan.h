// The InitPlan as oci-init holds it: the C++ mirror of src/spec/plan-types.ts (read that file for
// the meaning of every field; keep both in step). plan.cc decodes the JSON sent in the `plan` sync
// message into these structs; nothing else in oci-init parses JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ociinit {

struct TimeOffset {
  std::string clock;  // "monotonic" | "boottime"
  int64_t secs = 0;
  int64_t nanosecs = 0;
};

struct JoinNs {
  std::string path;
  int nstype = 0;
};

struct Mount {
  std::string destination;
  std::string source;
  std::string type;
  unsigned long flags = 0;
  std::string data;
  unsigned long remount_flags = 0;
  std::vector<unsigned long> propagation;
  uint64_t attr_set = 0;
  uint64_t attr_clr = 0;
  std::string create_as;  // "dir" | "file" | "auto"
  int idmap_fd = -1;      // detached idmapped tree from the parent (bind mounts), -1 for none
  bool copy_up = false;   // tmpfs only: starts with a copy of the destination's content (tmpcopyup)
};

struct Device {
  std::string path;
  uint32_t mode = 0;
  uint32_t major = 0;
  uint32_t minor = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
};

struct Rlimit {
  int resource = 0;
  uint64_t soft = 0;
  uint64_t hard = 0;
};

struct Capabilities {
  std::vector<int> bounding, effective, inheritable, permitted, ambient;
};

struct Scheduler {
  uint32_t policy = 0;
  int32_t nice = 0;
  uint32_t priority = 0;
  uint64_t flags = 0;
  uint64_t runtime = 0, deadline = 0, period = 0;
};

struct SeccompListener {
  std::string path;      // linux.seccomp.listenerPath (host path, reached before pivot_root)
  std::string metadata;  // linux.seccomp.listenerMetadata, passed on verbatim
};

struct Seccomp {
  std::string bpf;  // raw struct sock_filter bytes (decoded from base64)
  unsigned int flags = 0;
  std::optional<SeccompListener> listener;  // set iff flags has SECCOMP_FILTER_FLAG_NEW_LISTENER
};

// linux.memoryPolicy: set_mempolicy(mode, mask of nodes).
struct MemoryPolicy {
  int mode = 0;             // MPOL_* | MPOL_F_*
  std::vector<int> nodes;   // node numbers; empty: no mask
};

struct Process {
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd;
  bool terminal = false;
  // process.consoleSize, applied to the pty oci-init allocates (absent: the kernel's 0x0).
  std::optional<std::pair<unsigned short, unsigned short>> console_size;  // {height, width}
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  std::optional<uint32_t> umask;
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
  std::optional<unsigned long> personality;
  std::optional<Scheduler> scheduler;
  std::optional<int> io_priority;
  std::optional<std::vector<int>> cpu_affinity_initial;
  std::optional<std::vector<int>> cpu_affinity_final;
  std::optional<std::string> apparmor_profile;
  std::optional<std::string> selinux_label;
  std::optional<MemoryPolicy> memory_policy;
  std::optional<Seccomp> seccomp;
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  int timeout = 0;  // seconds, 0 = none
};

struct Plan {
  int version = 0;
  // "create" (absent in the JSON) or "exec": an exec plan joins the namespaces of a running
  // container and skips rootfs, names, mounted/resume and hooks (plan-types.ts `mode`).
  bool exec_mode = false;
  std::string exec_state;  // exec mode: container state JSON for a seccomp NOTIFY listener
  int late_unshare_flags = 0;
  std::vector<TimeOffset> time_offsets;
  std::vector<JoinNs> join_namespaces;
  bool mount_namespace = true;
  std::string rootfs;
  unsigned long rootfs_propagation = 0;
  bool readonly_rootfs = false;
  bool no_pivot = false;
  std::vector<Mount> mounts;
  std::vector<Device> devices;
  bool bind_devices = false;
  bool dev_symlinks = true;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::vector<std::pair<std::string, std::string>> sysctl;
  std::optional<std::string> hostname;
  std::optional<std::string> domainname;
  Process process;
  std::vector<Hook> create_container_hooks;
  std::vector<Hook> start_container_hooks;
};

// Decodes the `plan` member of the first sync message. On malformed input returns false and sets
// `err` to a message naming the field.
bool decode_plan(const std::string& json, Plan& out, std::string& err);

}  // namespace ociinit
