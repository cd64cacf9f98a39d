// The mount namespace work of oci-init: mounts, devices, pivot_root, sysctl, masked and read-only
// paths (ARCHITECTURE.md; SECURITY.md #6, #7, #8, #10, #11). main.cc calls the three steps in the
// order of the oci-init sequence; every failure throws InitError (init/error.h).
#pragma once

#include <string>

#include "common/unique_fd.h"
#include "init/plan.h"

namespace ociinit {

// Step 4 (before createContainer hooks; cwd stays outside the rootfs): rootfs propagation, bind the
// rootfs onto itself, every plan.mounts entry in order, devices, /dev symlinks.
void prepare_rootfs(const Plan& plan);

// Step 7: pivot_root into the rootfs (or MS_MOVE + chroot when plan.no_pivot); cwd "/".
void enter_rootfs(const Plan& plan);

// Step 9 (after pivot_root, still root): sysctl, readonlyPaths, maskedPaths, read-only "/".
void finish_rootfs(const Plan& plan);

// --- shared between rootfs.cc and devices.cc (not called by main.cc) ---

// The rootfs fd opened by prepare_rootfs (after the bind onto itself), for enter_rootfs.
int rootfs_fd();

// Creates plan.devices under the rootfs and, when plan.dev_symlinks, the /dev symlinks.
void setup_devices(const Plan& plan, int rootfd);

// Bind-mounts the host object open as `src` (O_PATH fd) onto the object open as `target`, on fds only
// (open_tree + move_mount). Returns the fd of the new mount. Throws with `step`/`path` on failure.
tsrun::UniqueFd bind_fd_onto(int src, int target, const std::string& step, const std::string& path);

}  // namespace ociinit
