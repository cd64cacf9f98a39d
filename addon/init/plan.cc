// Decodes the InitPlan JSON (src/spec/plan-types.ts) into the structs of plan.h. The only JSON
// parsing in oci-init; every failure names the offending field so a mismatch between the TypeScript
// and C++ sides of the contract is obvious.
#include "init/plan.h"

#include <cerrno>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>

namespace ociinit {
namespace {

using json = nlohmann::json;

struct DecodeError {
  std::string msg;
};

[[noreturn]] void bad(const std::string& field, const char* what) { throw DecodeError{"plan." + field + ": " + what}; }

const json& field(const json& obj, const std::string& path, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end()) bad(path + key, "missing");
  return *it;
}

template <typename T>
T integer(const json& v, const std::string& name) {
  if (!v.is_number_integer()) bad(name, "expected an integer");
  if (v.is_number_unsigned()) {
    auto u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<T>::max())) bad(name, "out of range");
    return static_cast<T>(u);
  }
  auto s = v.get<int64_t>();
  if (s < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
      (s > 0 && static_cast<uint64_t>(s) > static_cast<uint64_t>(std::numeric_limits<T>::max()))) {
    bad(name, "out of range");
  }
  return static_cast<T>(s);
}

template <typename T>
T num(const json& obj, const std::string& path, const char* key) {
  return integer<T>(field(obj, path, key), path + key);
}

// 64-bit values travel as decimal strings (they exceed 2^53).
uint64_t u64str(const json& obj, const std::string& path, const char* key) {
  const json& v = field(obj, path, key);
  if (!v.is_string()) bad(path + key, "expected a decimal string");
  const std::string& s = v.get_ref<const std::string&>();
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) bad(path + key, "expected a decimal string");
  errno = 0;
  unsigned long long n = std::strtoull(s.c_str(), nullptr, 10);
  if (errno == ERANGE) bad(path + key, "out of range");
  return n;
}

bool boolean(const json& obj, const std::string& path, const char* key) {
  const json& v = field(obj, path, key);
  if (!v.is_boolean()) bad(path + key, "expected a boolean");
  return v.get<bool>();
}

std::string str(const json& obj, const std::string& path, const char* key) {
  const json& v = field(obj, path, key);
  if (!v.is_string()) bad(path + key, "expected a string");
  return v.get<std::string>();
}

std::optional<std::string> opt_str(const json& obj, const std::string& path, const char* key) {
  const json& v = field(obj, path, key);
  if (v.is_null()) return std::nullopt;
  if (!v.is_string()) bad(path + key, "expected a string or null");
  return v.get<std::string>();
}

const json& arr(const json& obj, const std::string& path, const char* key) {
  const json& v = field(obj, path, key);
  if (!v.is_array()) bad(path + key, "expected an array");
  return v;
}

const json& obj_at(const json& v, const std::string& name) {
  if (!v.is_object()) bad(name, "expected an object");
  return v;
}

std::string idx(const std::string& path, const char* key, size_t i) { return path + key + "[" + std::to_string(i) + "]."; }

std::vector<std::string> str_list(const json& obj, const std::string& path, const char* key) {
  std::vector<std::string> out;
  const json& a = arr(obj, path, key);
  for (size_t i = 0; i < a.size(); i++) {
    if (!a[i].is_string()) bad(path + key + "[" + std::to_string(i) + "]", "expected a string");
    out.push_back(a[i].get<std::string>());
  }
  return out;
}

template <typename T>
std::vector<T> num_list(const json& obj, const std::string& path, const char* key) {
  std::vector<T> out;
  const json& a = arr(obj, path, key);
  for (size_t i = 0; i < a.size(); i++) out.push_back(integer<T>(a[i], path + key + "[" + std::to_string(i) + "]"));
  return out;
}

int b64val(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Standard base64 (RFC 4648 §4, padding optional), as Buffer.toString('base64') writes it.
bool base64_decode(const std::string& in, std::string& out) {
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (unsigned char c : in) {
    if (c == '=') {
      pad++;
      continue;
    }
    if (pad) return false;  // data after padding
    int v = b64val(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return pad <= 2;
}

std::vector<TimeOffset> time_offsets(const json& p) {
  std::vector<TimeOffset> out;
  const json& a = arr(p, "", "timeOffsets");
  for (size_t i = 0; i < a.size(); i++) {
    std::string n = idx("", "timeOffsets", i);
    const json& o = obj_at(a[i], n);
    TimeOffset t;
    t.clock = str(o, n, "clock");
    if (t.clock != "monotonic" && t.clock != "boottime") bad(n + "clock", "expected monotonic or boottime");
    t.secs = num<int64_t>(o, n, "secs");
    t.nanosecs = num<int64_t>(o, n, "nanosecs");
    out.push_back(t);
  }
  return out;
}

std::vector<JoinNs> joins(const json& p) {
  std::vector<JoinNs> out;
  const json& a = arr(p, "", "joinNamespaces");
  for (size_t i = 0; i < a.size(); i++) {
    std::string n = idx("", "joinNamespaces", i);
    const json& o = obj_at(a[i], n);
    out.push_back(JoinNs{str(o, n, "path"), num<int>(o, n, "nstype")});
  }
  return out;
}

std::vector<Mount> mounts(const json& p) {
  std::vector<Mount> out;
  const json& a = arr(p, "", "mounts");
  for (size_t i = 0; i < a.size(); i++) {
    std::string n = idx("", "mounts", i);
    const json& o = obj_at(a[i], n);
    Mount m;
    m.destination = str(o, n, "destination");
    m.source = str(o, n, "source");
    m.type = str(o, n, "type");
    m.flags = num<unsigned long>(o, n, "flags");
    m.data = str(o, n, "data");
    m.remount_flags = num<unsigned long>(o, n, "remountFlags");
    m.propagation = num_list<unsigned long>(o, n, "propagation");
    m.attr_set = num<uint64_t>(o, n, "attrSet");
    m.attr_clr = num<uint64_t>(o, n, "attrClr");
    m.create_as = str(o, n, "createAs");
    if (m.create_as != "dir" && m.create_as != "file" && m.create_as != "auto") bad(n + "createAs", "expected dir, file or auto");
    auto idmap = o.find("idmapFd");  // optional (plan-types.ts PlanMount.idmapFd)
    if (idmap != o.end() && !idmap->is_null()) m.idmap_fd = integer<int>(*idmap, n + "idmapFd");
    if (m.idmap_fd < -1) bad(n + "idmapFd", "expected a file descriptor or -1");
    if (o.contains("copyUp")) m.copy_up = boolean(o, n, "copyUp");  // optional (PlanMount.copyUp)
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<Device> devices(const json& p) {
  std::vector<Device> out;
  const json& a = arr(p, "", "devices");
  for (size_t i = 0; i < a.size(); i++) {
    std::string n = idx("", "devices", i);
    const json& o = obj_at(a[i], n);
    Device d;
    d.path = str(o, n, "path");
    d.mode = num<uint32_t>(o, n, "mode");
    d.major = num<uint32_t>(o, n, "major");
    d.minor = num<uint32_t>(o, n, "minor");
    d.uid = num<uint32_t>(o, n, "uid");
    d.gid = num<uint32_t>(o, n, "gid");
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> sysctls(const json& p) {
  std::vector<std::pair<std::string, std::string>> out;
  const json& a = arr(p, "", "sysctl");
  for (size_t i = 0; i < a.size(); i++) {
    std::string n = idx("", "sysctl", i);
    const json& o = obj_at(a[i], n);
    out.emplace_back(str(o, n, "key"), str(o, n, "value"));
  }
  return out;
}

std::vector<Hook> hooks(const json& h, const char* key) {
  std::vector<Hook> out;
  const json& a = arr(h, "hooks.", key);
  for (size_t i = 0; i < a.size(); i++) {
    std::string n = idx("hooks.", key, i);
    const json& o = obj_at(a[i], n);
    Hook k;
    k.path = str(o, n, "path");
    k.args = str_list(o, n, "args");
    k.env = str_list(o, n, "env");
    k.timeout = num<int>(o, n, "timeout");
    if (k.timeout < 0) bad(n + "timeout", "must not be negative");
    out.push_back(std::move(k));
  }
  return out;
}

Capabilities capabilities(const json& c) {
  const std::string n = "process.capabilities.";
  Capabilities caps;
  caps.bounding = num_list<int>(c, n, "bounding");
  caps.effective = num_list<int>(c, n, "effective");
  caps.inheritable = num_list<int>(c, n, "inheritable");
  caps.permitted = num_list<int>(c, n, "permitted");
  caps.ambient = num_list<int>(c, n, "ambient");
  return caps;
}

std::vector<Rlimit> rlimits(const json& pr) {
  std::vector<Rlimit> out;
  const json& a = arr(pr, "process.", "rlimits");
  for (size_t i = 0; i < a.size(); i++) {
    std::string n = idx("process.", "rlimits", i);
    const json& o = obj_at(a[i], n);
    out.push_back(Rlimit{num<int>(o, n, "resource"), u64str(o, n, "soft"), u64str(o, n, "hard")});
  }
  return out;
}

Scheduler scheduler(const json& s) {
  const std::string n = "process.scheduler.";
  Scheduler out;
  out.policy = num<uint32_t>(s, n, "policy");
  out.nice = num<int32_t>(s, n, "nice");
  out.priority = num<uint32_t>(s, n, "priority");
  out.flags = num<uint64_t>(s, n, "flags");
  out.runtime = u64str(s, n, "runtime");
  out.deadline = u64str(s, n, "deadline");
  out.period = u64str(s, n, "period");
  return out;
}

std::optional<std::vector<int>> cpu_list(const json& a, const char* key) {
  const json& v = field(a, "process.execCPUAffinity.", key);
  if (v.is_null()) return std::nullopt;
  return num_list<int>(a, "process.execCPUAffinity.", key);
}

template <typename T>
std::optional<T> opt_num(const json& obj, const std::string& path, const char* key) {
  const json& v = field(obj, path, key);
  if (v.is_null()) return std::nullopt;
  return integer<T>(v, path + key);
}

void optional_process(const json& pr, Process& p) {
  const std::string n = "process.";
  p.umask = opt_num<uint32_t>(pr, n, "umask");
  p.oom_score_adj = opt_num<int>(pr, n, "oomScoreAdj");
  p.personality = opt_num<unsigned long>(pr, n, "personality");
  p.io_priority = opt_num<int>(pr, n, "ioPriority");
  auto cs = pr.find("consoleSize");  // optional: plans without a terminal may omit it
  if (cs != pr.end() && !cs->is_null()) {
    const json& o = obj_at(*cs, n + "consoleSize");
    p.console_size = std::make_pair(num<unsigned short>(o, n + "consoleSize.", "height"), num<unsigned short>(o, n + "consoleSize.", "width"));
  }
  const json& caps = field(pr, n, "capabilities");
  if (!caps.is_null()) p.capabilities = capabilities(obj_at(caps, n + "capabilities"));
  const json& sched = field(pr, n, "scheduler");
  if (!sched.is_null()) p.scheduler = scheduler(obj_at(sched, n + "scheduler"));
  const json& aff = obj_at(field(pr, n, "execCPUAffinity"), n + "execCPUAffinity");
  p.cpu_affinity_initial = cpu_list(aff, "initial");
  p.cpu_affinity_final = cpu_list(aff, "final");
  p.apparmor_profile = opt_str(pr, n, "apparmorProfile");
  p.selinux_label = opt_str(pr, n, "selinuxLabel");
  auto mp = pr.find("memoryPolicy");  // optional: absent or null when the config has none
  if (mp != pr.end() && !mp->is_null()) {
    const json& o = obj_at(*mp, n + "memoryPolicy");
    p.memory_policy = MemoryPolicy{num<int>(o, n + "memoryPolicy.", "mode"), num_list<int>(o, n + "memoryPolicy.", "nodes")};
  }
  const json& sc = field(pr, n, "seccomp");
  if (!sc.is_null()) {
    const json& o = obj_at(sc, n + "seccomp");
    Seccomp s;
    if (!base64_decode(str(o, n + "seccomp.", "bpf"), s.bpf)) bad(n + "seccomp.bpf", "invalid base64");
    if (s.bpf.empty() || s.bpf.size() % 8 != 0) bad(n + "seccomp.bpf", "not a whole number of sock_filter records");
    s.flags = num<unsigned int>(o, n + "seccomp.", "flags");
    auto l = o.find("listener");  // optional: plans without a notify listener may omit it
    if (l != o.end() && !l->is_null()) {
      const json& lo = obj_at(*l, n + "seccomp.listener");
      s.listener = SeccompListener{str(lo, n + "seccomp.listener.", "path"), str(lo, n + "seccomp.listener.", "metadata")};
    }
    p.seccomp = std::move(s);
  }
}

Process process(const json& pr) {
  const std::string n = "process.";
  Process p;
  p.args = str_list(pr, n, "args");
  if (p.args.empty()) bad("process.args", "must not be empty");
  p.env = str_list(pr, n, "env");
  p.cwd = str(pr, n, "cwd");
  p.terminal = boolean(pr, n, "terminal");
  p.uid = num<uint32_t>(pr, n, "uid");
  p.gid = num<uint32_t>(pr, n, "gid");
  p.additional_gids = num_list<uint32_t>(pr, n, "additionalGids");
  p.rlimits = rlimits(pr);
  p.no_new_privileges = boolean(pr, n, "noNewPrivileges");
  optional_process(pr, p);
  return p;
}

void decode(const json& p, Plan& out) {
  if (!p.is_object()) bad("", "expected an object");
  out.version = num<int>(p, "", "version");
  if (out.version != 1) bad("version", "unsupported plan version");
  auto mode = p.find("mode");  // optional: create plans may omit it
  if (mode != p.end() && !mode->is_null()) {
    if (!mode->is_string() || (*mode != "create" && *mode != "exec")) bad("mode", "expected \"create\" or \"exec\"");
    out.exec_mode = *mode == "exec";
  }
  if (p.contains("execState")) out.exec_state = opt_str(p, "", "execState").value_or("");  // optional
  out.late_unshare_flags = num<int>(p, "", "lateUnshareFlags");
  out.time_offsets = time_offsets(p);
  out.join_namespaces = joins(p);
  out.mount_namespace = boolean(p, "", "mountNamespace");
  out.rootfs = str(p, "", "rootfs");
  out.rootfs_propagation = num<unsigned long>(p, "", "rootfsPropagation");
  out.readonly_rootfs = boolean(p, "", "readonlyRootfs");
  out.no_pivot = boolean(p, "", "noPivot");
  out.mounts = mounts(p);
  out.devices = devices(p);
  out.bind_devices = boolean(p, "", "bindDevices");
  out.dev_symlinks = boolean(p, "", "devSymlinks");
  out.masked_paths = str_list(p, "", "maskedPaths");
  out.readonly_paths = str_list(p, "", "readonlyPaths");
  out.sysctl = sysctls(p);
  out.hostname = opt_str(p, "", "hostname");
  out.domainname = opt_str(p, "", "domainname");
  out.process = process(obj_at(field(p, "", "process"), "process"));
  const json& h = obj_at(field(p, "", "hooks"), "hooks");
  out.create_container_hooks = hooks(h, "createContainer");
  out.start_container_hooks = hooks(h, "startContainer");
}

}  // namespace

bool decode_plan(const std::string& text, Plan& out, std::string& err) {
  json p = json::parse(text, nullptr, false);
  if (p.is_discarded()) {
    err = "plan: not valid JSON";
    return false;
  }
  try {
    decode(p, out);
  } catch (const DecodeError& e) {
    err = e.msg;
    return false;
  } catch (const std::exception& e) {
    err = std::string("plan: ") + e.what();
    return false;
  }
  return true;
}

}  // namespace ociinit
