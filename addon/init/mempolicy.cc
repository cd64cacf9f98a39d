#include "init/mempolicy.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "init/error.h"

namespace ociinit {

void apply_memory_policy(const MemoryPolicy& mp) {
  static const char step[] = "/linux/memoryPolicy";
  constexpr size_t kBits = sizeof(unsigned long) * CHAR_BIT;
  int max = -1;
  for (int n : mp.nodes) {
    if (n < 0) throw_msg(step, "", std::string(step) + ": negative node number");
    max = std::max(max, n);
  }
  std::vector<unsigned long> mask(max < 0 ? 0 : static_cast<size_t>(max) / kBits + 1, 0);
  for (int n : mp.nodes) mask[static_cast<size_t>(n) / kBits] |= 1UL << (static_cast<size_t>(n) % kBits);
  // The kernel reads maxnode - 1 bits (mm/mempolicy.c get_nodes), hence the + 1.
  unsigned long maxnode = mask.empty() ? 0 : mask.size() * kBits + 1;
  long r = tsrun::retry_eintr([&] { return ::syscall(SYS_set_mempolicy, mp.mode, mask.empty() ? nullptr : mask.data(), maxnode); });
  if (r == 0) return;
  int e = errno;
  std::string msg = std::string(step) + ": set_mempolicy: " + std::strerror(e);
  if (const char* name = ::strerrorname_np(e)) msg += std::string(" (") + name + ")";
  if (e == EINVAL) msg += ": the kernel refused the mode, flags or nodes (a node this host does not have?)";
  throw InitError(step, "set_mempolicy", e, "", msg);
}

}  // namespace ociinit
