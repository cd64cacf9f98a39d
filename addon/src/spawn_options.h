// spawnInit's options (src/native/types.ts SpawnInitOptions), read and type-checked from JS.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tsrun {

struct SpawnOptions {
  std::string initPath;
  std::vector<std::string> argv;
  uint32_t cloneFlags = 0;
  std::vector<int> joinFds;
  std::vector<int> joinTypes;
  uint32_t unshareFlags = 0;
  int pidNamespaceFd = -1;
  int cgroupFd = -1;
  std::vector<int> fds;
  int pdeathSignal = 0;
  // Optional: called with the child's pid while the child waits before execveat (user ns maps).
  Napi::Function beforeExec;
  bool becomeRoot = false;
};

// Fills *out from the options object; on a missing or mistyped field throws a TypeError naming it
// ("spawnInit: opts.argv must be ...") and returns false.
bool ParseSpawnOptions(Napi::Env env, Napi::Value v, SpawnOptions* out);

}  // namespace tsrun
