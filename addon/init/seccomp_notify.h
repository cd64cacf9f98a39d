// SCMP_ACT_NOTIFY: handing the seccomp notify fd to linux.seccomp.listenerPath (config-linux.md
// "Seccomp", runtime.md "ContainerProcessState").
//
// oci-init does this itself rather than sending the fd back to tsrun to forward (runc's way):
// the filter is loaded after `ready`, when `tsrun create` has already gone, so only oci-init holds
// the fd then. It connects while the host's paths are still visible (before joining a mount
// namespace or pivot_root) and sends right after loading, before any other filtered call.
#pragma once

#include <string>

#include "common/unique_fd.h"
#include "init/plan.h"

namespace ociinit {

// connect(2) an AF_UNIX SOCK_STREAM socket (SOCK_CLOEXEC) to the listener path. A socket in a user
// namespace container is reached with the container root's host uid: it must be writable for it.
tsrun::UniqueFd connect_listener(const SeccompListener& l);

// Sends notify_fd with SCM_RIGHTS and the ContainerProcessState JSON: {"ociVersion", "fds":
// ["seccompFd"], "pid", "metadata", "state"}, where state is the OCI state JSON from `resume`
// (the startContainer one) and pid its pid.
void send_notify_fd(int sock, int notify_fd, const SeccompListener& l, const std::string& state_json);

}  // namespace ociinit
