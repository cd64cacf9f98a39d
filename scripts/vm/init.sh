#!/bin/sh
# /init of the test VM (busybox sh, PID 1). Sets up a pure cgroup v2 host, runs every suite listed
# in /etc/vm-suites with node, writes each suite's output framed by @@VM-RESULT-BEGIN/END markers to
# the results port (/dev/ttyS1, a file on the host; the kernel console stays on ttyS0 so its messages,
# e.g. OOM kills, can never interleave with results), then powers off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root

if [ "$1" != stage2 ]; then
  # The initramfs is the kernel's rootfs mount, which has no parent mount, so pivot_root(2) into a
  # container's rootfs fails with EINVAL (pivot_root(2): "the current root is on the rootfs").
  # Bind-mounting / onto itself and chrooting into the bind gives a root that has a parent, without
  # copying the ~150 MB of files into a tmpfs as switch_root would.
  mkdir -p /newroot
  mount --bind / /newroot
  cd /newroot || exit 1
  mount --move . /
  exec chroot . /init stage2
fi

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
# cgroup_no_v1=all on the kernel command line keeps every controller on the v2 hierarchy.
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
  echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control
done
# Modules the cloud kernel does not build in (overlay); a failure shows as a missing name below.
loaded=""
for m in /lib/modules/*.ko; do
  [ -e "$m" ] || continue
  insmod "$m" && loaded="$loaded $(basename "$m" .ko)"
done
ip link set lo up 2>/dev/null
hostname tsrun-vm

out=/dev/ttyS1
[ -c "$out" ] || out=/dev/console
uptime_s() { cut -d' ' -f1 /proc/uptime; }

echo "@@VM-BOOTED uptime=$(uptime_s) kernel=$(uname -r) modules=${loaded# }" >"$out"
# The results port is a tty: keep node from colouring what it prints there.
export TSRUN_BIN=/tsrun/bin/tsrun TSRUN_VM=1 TSRUN_VM_BUNDLE=/bundle NODE_DISABLE_COLORS=1 NO_COLOR=1
# Kernel command-line words with '=' that the kernel does not know arrive in init's environment.
# tsrun_deadline is the guest uptime by which every suite must have ended; each suite gets what is
# left, so a slow one is cut off with its output so far instead of the host killing the whole VM.
deadline="${tsrun_deadline:-240}"
while read -r suite; do
  [ -n "$suite" ] || continue
  name="$(basename "$suite")"
  start="$(uptime_s)"
  left=$((deadline - ${start%.*}))
  echo "@@VM-RESULT-BEGIN $name" >"$out"
  if [ "$left" -lt 5 ]; then
    echo "not run: the VM deadline (${deadline}s uptime) has passed" >"$out"
    rc=125
  else
    (cd /tmp && timeout "$left" node "$suite" </dev/null >"$out" 2>&1)
    rc=$?
    [ "$rc" -ne 143 ] || echo "killed: still running after ${left}s (VM deadline ${deadline}s uptime)" >"$out"
  fi
  echo "@@VM-RESULT-END $name rc=$rc start=$start end=$(uptime_s)" >"$out"
done </etc/vm-suites
echo "@@VM-DONE uptime=$(uptime_s)" >"$out"
sync
poweroff -f
