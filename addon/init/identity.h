// The container process's identity and resource settings (step 10 of README.md's sequence).
#pragma once

#include <string>
#include <vector>

#include "init/plan.h"

namespace ociinit {

// Checks, while the host's /sys is still visible (before the mounts), that the LSM a label was
// asked for is enabled; a clear error now beats a cryptic EINVAL from /proc/self/attr later.
void check_lsm_available(const Process& p);

// Step 10 in order: rlimits, oom_score_adj, personality, scheduler, ioprio, LSM exec label, umask,
// then user and capabilities (see apply_user_and_caps), then no_new_privileges. procfd is a
// verified procfs directory fd (the host's, opened before any mount) used for /proc/self files.
void apply_identity(const Process& p, int procfd);

// The container's environment: process.env, plus HOME from the container's /etc/passwd entry for
// process.uid when env has none ("/" when there is no entry), as runc does. Reads /etc/passwd of
// the current root, so call it after pivot_root and before the uid change.
std::vector<std::string> container_env(const Process& p);

// Whether capset has left CAP_SYS_ADMIN in the effective set (seccomp without no_new_privs needs it).
bool has_effective_sys_admin();

}  // namespace ociinit
