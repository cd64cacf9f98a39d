// process.terminal inside oci-init: the pty is allocated in the container's own devpts (after
// pivot_root, so /dev/ptmx is the container's /dev/pts/ptmx), its master goes to the parent over
// the sync socket (`pty` message + SCM_RIGHTS) and its peer becomes the process's stdio and
// controlling terminal. SECURITY.md #9 (CVE-2025-52565) governs the /dev/console bind.
#pragma once

#include "init/plan.h"

namespace ociinit {

// Allocates the pty, applies process.consoleSize, binds the peer onto /dev/console when
// `mount_console` (the container's init in its own mount namespace; never for exec, never on the
// host), sends the master to the parent, then makes the peer fds 0-2 and the controlling terminal
// (the session was created by setsid() in step 0). Throws InitError (step "console").
void setup_console(const Process& p, int sync_fd, bool mount_console);

}  // namespace ociinit
