// Namespaces oci-init enters itself (steps 2-3 of the sequence in README.md).
#pragma once

#include "init/plan.h"

namespace ociinit {

// Opens every plan.join_namespaces path first, then setns()es each in order: joining a mount
// namespace changes how later paths resolve, so nothing may be opened after the first setns.
void join_namespaces(const Plan& plan);

// unshare(plan.late_unshare_flags); for a new time namespace writes plan.time_offsets through
// procfd (a verified procfs directory fd) to self/timens_offsets. The offsets must be written
// before any process is in the namespace; oci-init itself enters it only at execve.
void late_unshare(const Plan& plan, int procfd);

}  // namespace ociinit
