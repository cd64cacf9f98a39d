// The sealed in-memory copy of oci-init that every container init is exec'd from.
#pragma once

#include <string>

namespace tsrun {

// Returns a close-on-exec memfd holding a copy of the executable at `path`, sealed against any
// change (F_SEAL_SEAL|SHRINK|GROW|WRITE), made once per process and path and kept open for the
// life of the process. On failure returns -1 with errno set and *syscall naming the call that
// failed. CVE-2019-5736: the container's /proc/<pid>/exe then resolves to this memfd, which no
// one can write, instead of a host file a container could overwrite.
int SealedExecutable(const std::string& path, const char** syscall);

}  // namespace tsrun
