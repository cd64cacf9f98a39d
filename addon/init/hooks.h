// createContainer and startContainer hooks, run by oci-init inside the container's namespaces
// (runtime-spec config.md "POSIX-platform Hooks").
#pragma once

#include <string>
#include <vector>

#include "init/plan.h"

namespace ociinit {

// Runs each hook in order: fork, execve(path, args, env) with `state` on stdin and stdout/stderr
// captured; a hook still running at its timeout is killed with SIGKILL. The first failure throws
// InitError (step "hook <kind> #i"): "<kind> hook #i (<path>) exited with status N" /
// "killed by signal N" / "timed out after Ns", followed by the hook's output if any.
void run_hooks(const std::vector<Hook>& hooks, const std::string& state, const char* kind);

}  // namespace ociinit
