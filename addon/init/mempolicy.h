// linux.memoryPolicy (runtime-spec v1.3.0 config-linux.md "Memory policy"): set_mempolicy(2).
#pragma once

#include "init/plan.h"

namespace ociinit {

// Sets the calling process's NUMA memory policy. set_mempolicy(2): the policy is inherited by
// children and preserved across execve, so setting it in oci-init sets it for the container
// process. Throws InitError (step "/linux/memoryPolicy") with the kernel's errno.
void apply_memory_policy(const MemoryPolicy& mp);

}  // namespace ociinit
