{
  # Two targets: the N-API addon loaded by tsrun, and oci-init, the small single-threaded static
  # program the addon's clone child execs from a sealed memfd (see ../shared/docs/ARCHITECTURE.md).
  "targets": [
    {
      "target_name": "tsrun",
      "sources": [
        "addon/src/addon.cc",
        "addon/src/constants.cc",
        "addon/src/sys_error.cc",
        "addon/src/sealed_exe.cc",
        "addon/src/spawn_options.cc",
        "addon/src/spawn_child.cc",
        "addon/src/spawn.cc",
        "addon/src/fdops.cc",
        "addon/src/pidfd.cc",
      ],
      "include_dirs": ["<!@(node -p \"require('node-addon-api').include\")", "addon"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++20", "-Wall", "-Wextra", "-O2"],
      "libraries": ["-lseccomp"],
    },
    {
      "target_name": "oci-init",
      "type": "executable",
      "sources": [
        "addon/init/main.cc",
        "addon/init/plan.cc",
        "addon/init/sync.cc",
        "addon/init/namespaces.cc",
        "addon/init/identity.cc",
        "addon/init/exec.cc",
        "addon/init/hooks.cc",
        "addon/init/resolve.cc",
        "addon/init/rootfs.cc",
        "addon/init/devices.cc",
      ],
      "include_dirs": ["addon"],
      "cflags!": ["-fno-exceptions", "-pthread"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-pthread"],
      "cflags_cc": ["-std=c++20", "-Wall", "-Wextra", "-Os", "-ffunction-sections", "-fdata-sections"],
      "ldflags!": ["-pthread", "-rdynamic"],
      "ldflags": ["-static", "-Wl,--gc-sections", "-s"],
    },
  ],
}
