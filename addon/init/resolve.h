// Path resolution inside the container rootfs, on file descriptors only (SECURITY.md #7:
// CVE-2021-30465, CVE-2024-45310, CVE-2025-52881). A container path is never joined to the rootfs
// path as a string: it is resolved by the kernel with openat2(RESOLVE_IN_ROOT), so symlinks (absolute
// or "../..") cannot leave the rootfs, and whatever we create is created with *at() calls on the fd of
// an already resolved parent.
#pragma once

#include <cstdint>
#include <fcntl.h>
#include <string>
#include <sys/types.h>

#include "common/unique_fd.h"

namespace ociinit {

using tsrun::UniqueFd;

// Result of a resolution: a valid fd, or the syscall that failed and its errno.
struct Resolved {
  UniqueFd fd;
  const char* syscall = nullptr;
  int err = 0;
  bool ok() const { return fd.valid(); }
};

// openat2(2) with open_how {flags | O_CLOEXEC, mode, resolve}. Retries EINTR, and EAGAIN a bounded
// number of times: RESOLVE_IN_ROOT answers EAGAIN when a concurrent rename raced with ".." handling.
// Returns the fd or -1 with errno set.
int openat2_retry(int dirfd, const char* path, int flags, uint64_t resolve, mode_t mode = 0);

// Opens `path` (absolute, normalised, container view) under `rootfd` with
// RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra_resolve.
Resolved open_in_root(int rootfd, const std::string& path, int flags = O_PATH, uint64_t extra_resolve = 0);

// Opens the directory `path` under `rootfd`, creating missing components one by one with mkdirat()
// on the fd of the parent (each created component is reopened with O_NOFOLLOW, so a component
// swapped for a symlink in between fails instead of being followed). Returns an O_PATH fd.
Resolved mkdir_all_in_root(int rootfd, const std::string& path, uint64_t extra_resolve = 0, mode_t mode = 0755);

// Opens `path` under `rootfd` (any type); when missing, creates its parent directories and an empty
// regular file (openat O_CREAT|O_EXCL on the parent's fd). Returns an O_PATH fd of the result.
Resolved create_file_in_root(int rootfd, const std::string& path, uint64_t extra_resolve = 0, mode_t mode = 0644);

// Splits a normalised absolute path into its parent ("/" for top-level entries) and last component.
void split_parent(const std::string& path, std::string& parent, std::string& base);

}  // namespace ociinit
