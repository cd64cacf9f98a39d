// tmpcopyup (runc's mount extension, used by podman for --tmpfs and --read-only): a tmpfs mounted
// over a directory of the image starts with a copy of that directory's content.
#pragma once

#include <string>

namespace ociinit {

// Copies everything below the directory open at `src` (read with O_RDONLY) into the directory open
// at `dst` (a fresh tmpfs), keeping type, mode, owner and times. Walks only through fds with
// O_NOFOLLOW: symlinks are copied as links, never followed, so nothing outside `src` is read.
// `where` is the mount's destination, for error messages.
void copy_tree(int src, int dst, const std::string& where);

}  // namespace ociinit
