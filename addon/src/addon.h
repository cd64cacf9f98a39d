// Registration entry points of the addon's parts, one per concern; addon.cc calls them all.
#pragma once

#include <napi.h>

namespace tsrun {

void InitConstants(Napi::Env env, Napi::Object exports);  // constants.cc
void InitSpawn(Napi::Env env, Napi::Object exports);      // spawn.cc: spawnInit
void InitFdOps(Napi::Env env, Napi::Object exports);      // fdops.cc: sockets, fifo, flock, rlimit
void InitPidfd(Napi::Env env, Napi::Object exports);      // pidfd.cc: pidfd_* and waiting
void InitSeccomp(Napi::Env env, Napi::Object exports);    // seccomp.cc: compileSeccomp (libseccomp -> BPF)
void InitConsole(Napi::Env env, Napi::Object exports);    // console.cc: setWinsize, dupFd (pty proxy)
void InitBpf(Napi::Env env, Napi::Object exports);        // bpf.cc: loadDeviceProgram (cgroup v2 devices)
void InitEventFd(Napi::Env env, Napi::Object exports);    // eventfd.cc: eventfd (v1 OOM notification)
void InitIdmap(Napi::Env env, Napi::Object exports);      // idmap.cc: idmappedTree (idmapped mounts)
void InitNetdev(Napi::Env env, Napi::Object exports);     // netdev.cc: netdevCheck, netdevMove (linux.netDevices)
void InitExit(Napi::Env env, Napi::Object exports);       // exit.cc: exitNow (_exit without Node's teardown)

}  // namespace tsrun
