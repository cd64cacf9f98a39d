#include "sealed_exe.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

#include <cerrno>
#include <map>
#include <mutex>

#include "common/unique_fd.h"

// Since Linux 6.3 a memfd is executable only if asked for (or vm.memfd_noexec forbids it
// otherwise); older kernels reject the flag with EINVAL and make every memfd executable.
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

namespace tsrun {

namespace {

UniqueFd CreateMemfd() {
  UniqueFd fd(memfd_create("oci-init", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC));
  if (!fd && errno == EINVAL) fd.reset(memfd_create("oci-init", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  return fd;
}

// Copies all of src (st_size bytes) into dst.
bool CopyAll(int src, int dst, off_t size, const char** syscall) {
  off_t done = 0;
  while (done < size) {
    ssize_t n = retry_eintr([&] { return sendfile(dst, src, nullptr, static_cast<size_t>(size - done)); });
    if (n < 0) {
      *syscall = "sendfile";
      return false;
    }
    if (n == 0) {  // the file shrank under us
      errno = EIO;
      *syscall = "sendfile";
      return false;
    }
    done += n;
  }
  return true;
}

int MakeSealedCopy(const std::string& path, const char** syscall) {
  UniqueFd src(retry_eintr([&] { return open(path.c_str(), O_RDONLY | O_CLOEXEC); }));
  if (!src) {
    *syscall = "open";
    return -1;
  }
  struct stat st;
  if (fstat(src.get(), &st) < 0) {
    *syscall = "fstat";
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    errno = S_ISDIR(st.st_mode) ? EISDIR : EACCES;
    *syscall = "open";
    return -1;
  }
  if ((st.st_mode & 0111) == 0) {  // execve(2) would refuse it; so do we, naming the file
    errno = EACCES;
    *syscall = "open";
    return -1;
  }
  UniqueFd mem = CreateMemfd();
  if (!mem) {
    *syscall = "memfd_create";
    return -1;
  }
  if (!CopyAll(src.get(), mem.get(), st.st_size, syscall)) return -1;
  if (fcntl(mem.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
    *syscall = "fcntl(F_ADD_SEALS)";
    return -1;
  }
  return mem.release();
}

}  // namespace

int SealedExecutable(const std::string& path, const char** syscall) {
  static std::mutex mu;
  static auto* cache = new std::map<std::string, int>();  // never freed: lives as long as the process
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache->find(path);
  if (it != cache->end()) return it->second;
  int fd = MakeSealedCopy(path, syscall);
  if (fd >= 0) cache->emplace(path, fd);
  return fd;
}

}  // namespace tsrun
