/*
 * probe: runs inside a conformance-test container and prints ONE JSON object describing the
 * process as the kernel sees it, so tests can check from inside that config.json took effect.
 * Static (gcc -static -Os, see build.sh) so it needs nothing from the rootfs.
 *
 * Optional checks, in argv order, each appended to "checks":
 *   --read PATH  --write PATH  --stat PATH  --readlink PATH  --sysctl KEY  --mknod PATH  --ls PATH
 *   --data STR   (content for later --write; default "probe\n")
 *   --sleep SECS (after printing, stay alive: lets tests inspect a running container)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---- JSON output ---------------------------------------------------------------------------- */

static int need_comma;

static void jstr(const char *s) {
  putchar('"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
      case '"': fputs("\\\"", stdout); break;
      case '\\': fputs("\\\\", stdout); break;
      case '\n': fputs("\\n", stdout); break;
      case '\t': fputs("\\t", stdout); break;
      case '\r': fputs("\\r", stdout); break;
      default:
        /* Control bytes must be escaped; bytes >= 0x80 that are not UTF-8 become U+FFFD in the
         * reader, which is acceptable for diagnostics. */
        if (*p < 0x20 || *p == 0x7f) printf("\\u%04x", *p);
        else putchar(*p);
    }
  }
  putchar('"');
}

/* Starts a member "key": inside an object, with the comma bookkeeping. */
static void key(const char *k) {
  if (need_comma) putchar(',');
  jstr(k);
  putchar(':');
  need_comma = 1;
}

static void open_obj(void) { putchar('{'); need_comma = 0; }
static void close_obj(void) { putchar('}'); need_comma = 1; }
static void open_arr(void) { putchar('['); need_comma = 0; }
static void close_arr(void) { putchar(']'); need_comma = 1; }
static void elem(void) { if (need_comma) putchar(','); need_comma = 1; }

static void kstr(const char *k, const char *v) { key(k); jstr(v); }
static void kint(const char *k, long long v) { key(k); printf("%lld", v); }

/* ---- helpers -------------------------------------------------------------------------------- */

/* Reads up to cap-1 bytes of a file into buf (NUL-terminated); returns length or -errno. */
static long read_file(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  size_t n = 0;
  while (n + 1 < cap) {
    ssize_t r = read(fd, buf + n, cap - 1 - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) { int e = errno; close(fd); return -e; }
    if (r == 0) break;
    n += (size_t)r;
  }
  buf[n] = 0;
  close(fd);
  return (long)n;
}

static char status_buf[16384];

/* Value of a "Name:\tvalue" line from /proc/self/status, or "" when absent. */
static const char *status_field(const char *name, char *out, size_t cap) {
  out[0] = 0;
  size_t nl = strlen(name);
  for (char *line = status_buf; line && *line;) {
    char *end = strchr(line, '\n');
    if (strncmp(line, name, nl) == 0 && line[nl] == ':') {
      char *v = line + nl + 1;
      while (*v == '\t' || *v == ' ') v++;
      size_t len = end ? (size_t)(end - v) : strlen(v);
      if (len >= cap) len = cap - 1;
      memcpy(out, v, len);
      out[len] = 0;
      return out;
    }
    line = end ? end + 1 : NULL;
  }
  return out;
}

static void kstatus_str(const char *k, const char *field) {
  char v[256];
  kstr(k, status_field(field, v, sizeof v));
}

static void kstatus_int(const char *k, const char *field) {
  char v[256];
  kint(k, atoll(status_field(field, v, sizeof v)));
}

/* ---- report sections ------------------------------------------------------------------------ */

static void ids(void) {
  uid_t r, e, s;
  gid_t gr, ge, gs;
  getresuid(&r, &e, &s);
  getresgid(&gr, &ge, &gs);
  key("uid"); open_obj(); kint("real", r); kint("effective", e); kint("saved", s); close_obj();
  key("gid"); open_obj(); kint("real", gr); kint("effective", ge); kint("saved", gs); close_obj();
  gid_t groups[256];
  int n = getgroups(256, groups);
  key("groups"); open_arr();
  for (int i = 0; i < n; i++) { elem(); printf("%u", groups[i]); }
  close_arr();
}

static void caps(void) {
  key("caps"); open_obj();
  kstatus_str("inheritable", "CapInh");
  kstatus_str("permitted", "CapPrm");
  kstatus_str("effective", "CapEff");
  kstatus_str("bounding", "CapBnd");
  kstatus_str("ambient", "CapAmb");
  close_obj();
  kstatus_int("noNewPrivs", "NoNewPrivs");
  kstatus_int("seccomp", "Seccomp");
  kstatus_str("sigIgn", "SigIgn");
  kstatus_str("sigBlk", "SigBlk");
}

static void rlim_str(rlim_t v, char *out, size_t cap) {
  if (v == RLIM_INFINITY) snprintf(out, cap, "unlimited");
  else snprintf(out, cap, "%llu", (unsigned long long)v);
}

static void rlimits(void) {
  static const struct { int res; const char *name; } all[] = {
    {RLIMIT_CPU, "RLIMIT_CPU"}, {RLIMIT_FSIZE, "RLIMIT_FSIZE"}, {RLIMIT_DATA, "RLIMIT_DATA"},
    {RLIMIT_STACK, "RLIMIT_STACK"}, {RLIMIT_CORE, "RLIMIT_CORE"}, {RLIMIT_RSS, "RLIMIT_RSS"},
    {RLIMIT_NPROC, "RLIMIT_NPROC"}, {RLIMIT_NOFILE, "RLIMIT_NOFILE"},
    {RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK"}, {RLIMIT_AS, "RLIMIT_AS"}, {RLIMIT_LOCKS, "RLIMIT_LOCKS"},
    {RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING"}, {RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE"},
    {RLIMIT_NICE, "RLIMIT_NICE"}, {RLIMIT_RTPRIO, "RLIMIT_RTPRIO"}, {RLIMIT_RTTIME, "RLIMIT_RTTIME"},
  };
  key("rlimits"); open_obj();
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    struct rlimit rl;
    if (getrlimit(all[i].res, &rl) != 0) continue;
    char s[32], h[32];
    rlim_str(rl.rlim_cur, s, sizeof s);
    rlim_str(rl.rlim_max, h, sizeof h);
    key(all[i].name); open_obj(); kstr("soft", s); kstr("hard", h); close_obj();
  }
  close_obj();
}

static void cwd_env_uts(void) {
  mode_t m = umask(0);
  umask(m);
  kint("umask", m);
  char cwd[4096];
  kstr("cwd", getcwd(cwd, sizeof cwd) ? cwd : "");
  key("env"); open_arr();
  for (char **e = environ; e && *e; e++) { elem(); jstr(*e); }
  close_arr();
  struct utsname u;
  uname(&u);
  kstr("hostname", u.nodename);
  kstr("domainname", u.domainname);
}

static void fds(void) {
  key("fds"); open_obj();
  DIR *d = opendir("/proc/self/fd");
  if (d) {
    int self = dirfd(d);
    struct dirent *de;
    while ((de = readdir(d))) {
      if (de->d_name[0] == '.' || atoi(de->d_name) == self) continue;
      char p[300], t[4096];
      snprintf(p, sizeof p, "/proc/self/fd/%s", de->d_name);
      ssize_t n = readlink(p, t, sizeof t - 1);
      t[n < 0 ? 0 : n] = 0;
      kstr(de->d_name, t);
    }
    closedir(d);
  }
  close_obj();
}

static void namespaces(void) {
  static const char *names[] = {"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children",
                                "time", "time_for_children", "user", "uts"};
  key("ns"); open_obj();
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char p[64];
    struct stat st;
    snprintf(p, sizeof p, "/proc/self/ns/%s", names[i]);
    kint(names[i], stat(p, &st) == 0 ? (long long)st.st_ino : 0);
  }
  close_obj();
}

static char big[1 << 20];

static void mountinfo(void) {
  key("mountinfo"); open_arr();
  if (read_file("/proc/self/mountinfo", big, sizeof big) > 0) {
    for (char *line = strtok(big, "\n"); line; line = strtok(NULL, "\n")) { elem(); jstr(line); }
  }
  close_arr();
}

struct sched_attr_v1 {
  uint32_t size, sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime, sched_deadline, sched_period;
  uint32_t sched_util_min, sched_util_max;
};

static const char *policy_name(unsigned p) {
  static const char *n[] = {"SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH",
                            "SCHED_ISO", "SCHED_IDLE", "SCHED_DEADLINE"};
  return p < sizeof n / sizeof n[0] ? n[p] : "unknown";
}

static void sched_io_cpu_clock(void) {
  char buf[64];
  kint("oomScoreAdj", read_file("/proc/self/oom_score_adj", buf, sizeof buf) > 0 ? atoll(buf) : -9999);
  kint("personality", (long long)(unsigned)personality(0xffffffff));
  struct sched_attr_v1 a;
  memset(&a, 0, sizeof a);
  long r = syscall(SYS_sched_getattr, 0, &a, sizeof a, 0);
  key("sched"); open_obj();
  kint("policy", a.sched_policy & ~0x40000000u); /* strip SCHED_RESET_ON_FORK */
  kstr("policyName", policy_name(a.sched_policy & ~0x40000000u));
  kint("nice", a.sched_nice);
  kint("priority", a.sched_priority);
  key("ok"); fputs(r == 0 ? "true" : "false", stdout);
  if (r != 0) kint("errno", errno);
  close_obj();
  /* IOPRIO_WHO_PROCESS = 1; value = class << 13 | data */
  kint("ioprio", syscall(SYS_ioprio_get, 1, 0));
  cpu_set_t set;
  CPU_ZERO(&set);
  key("affinity"); open_arr();
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int i = 0; i < CPU_SETSIZE; i++) if (CPU_ISSET(i, &set)) { elem(); printf("%d", i); }
  }
  close_arr();
  struct timespec m, b;
  clock_gettime(CLOCK_MONOTONIC, &m);
  clock_gettime(CLOCK_BOOTTIME, &b);
  key("clock"); open_obj();
  key("monotonic"); printf("%.3f", m.tv_sec + m.tv_nsec / 1e9);
  key("boottime"); printf("%.3f", b.tv_sec + b.tv_nsec / 1e9);
  close_obj();
  long n = read_file("/proc/self/attr/current", buf, sizeof buf);
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == 0)) buf[--n] = 0;
  kstr("attrCurrent", n > 0 ? buf : "");
}

/* get_mempolicy(2) of this thread: mode (flags stripped), the MPOL_F_* mode flags, nodes. */
static void mempolicy(void) {
  int mode = -1;
  unsigned long mask[16];
  memset(mask, 0, sizeof mask);
  long r = syscall(SYS_get_mempolicy, &mode, mask, sizeof mask * 8, 0, 0);
  key("mempolicy"); open_obj();
  key("ok"); fputs(r == 0 ? "true" : "false", stdout);
  if (r != 0) kint("errno", errno);
  kint("mode", mode & ~(7 << 13));
  kint("flags", mode & (7 << 13));
  key("nodes"); open_arr();
  for (unsigned i = 0; r == 0 && i < sizeof mask * 8; i++) {
    if (mask[i / (8 * sizeof mask[0])] >> (i % (8 * sizeof mask[0])) & 1) { elem(); printf("%u", i); }
  }
  close_arr();
  close_obj();
}

/* ---- checks --------------------------------------------------------------------------------- */

static void check_err(int e) {
  key("ok"); fputs("false", stdout);
  kint("errno", e);
  kstr("err", strerror(e));
}

static const char *type_name(mode_t m) {
  switch (m & S_IFMT) {
    case S_IFREG: return "file";
    case S_IFDIR: return "dir";
    case S_IFLNK: return "symlink";
    case S_IFCHR: return "char";
    case S_IFBLK: return "block";
    case S_IFIFO: return "fifo";
    case S_IFSOCK: return "socket";
  }
  return "unknown";
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void do_ls(const char *path) {
  DIR *d = opendir(path);
  if (!d) { check_err(errno); return; }
  static char *names[4096];
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(d)) && n < 4096) {
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) names[n++] = strdup(de->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof names[0], cmp_str);
  size_t len = 0;
  big[0] = 0;
  for (size_t i = 0; i < n; i++) {
    len += (size_t)snprintf(big + len, sizeof big - len, "%s%s", i ? "\n" : "", names[i]);
    free(names[i]);
  }
  key("ok"); fputs("true", stdout);
  kstr("content", big);
}

static void do_stat(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) { check_err(errno); return; }
  key("ok"); fputs("true", stdout);
  key("stat"); open_obj();
  kint("mode", st.st_mode & 07777);
  kstr("type", type_name(st.st_mode));
  kint("uid", st.st_uid);
  kint("gid", st.st_gid);
  kint("rdev_major", major(st.st_rdev));
  kint("rdev_minor", minor(st.st_rdev));
  kint("size", st.st_size);
  kint("ino", (long long)st.st_ino);
  kint("dev_major", major(st.st_dev));
  kint("dev_minor", minor(st.st_dev));
  close_obj();
}

static void do_read(const char *path) {
  long n = read_file(path, big, sizeof big);
  if (n < 0) { check_err((int)-n); return; }
  key("ok"); fputs("true", stdout);
  kstr("content", big);
}

static void do_write(const char *path, const char *data) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) { check_err(errno); return; }
  ssize_t w = write(fd, data, strlen(data));
  int e = errno;
  close(fd);
  if (w < 0) { check_err(e); return; }
  key("ok"); fputs("true", stdout);
}

static void run_check(const char *op, const char *arg, const char *data) {
  elem();
  open_obj();
  kstr("op", op);
  kstr("path", arg);
  if (!strcmp(op, "read")) do_read(arg);
  else if (!strcmp(op, "write")) do_write(arg, data);
  else if (!strcmp(op, "stat")) do_stat(arg);
  else if (!strcmp(op, "ls")) do_ls(arg);
  else if (!strcmp(op, "readlink")) {
    char t[4096];
    ssize_t n = readlink(arg, t, sizeof t - 1);
    if (n < 0) check_err(errno);
    else { t[n] = 0; key("ok"); fputs("true", stdout); kstr("content", t); }
  } else if (!strcmp(op, "sysctl")) {
    char p[512];
    snprintf(p, sizeof p, "/proc/sys/%s", arg);
    for (char *c = p + 10; *c; c++) if (*c == '.') *c = '/';
    long n = read_file(p, big, sizeof big);
    if (n < 0) check_err((int)-n);
    else {
      while (n > 0 && big[n - 1] == '\n') big[--n] = 0;
      key("ok"); fputs("true", stdout); kstr("content", big);
    }
  } else if (!strcmp(op, "mknod")) {
    if (mknod(arg, S_IFCHR | 0666, makedev(1, 3)) != 0) check_err(errno);
    else { key("ok"); fputs("true", stdout); }
  } else check_err(EINVAL);
  close_obj();
}

int main(int argc, char **argv) {
  long sleep_secs = 0;
  if (read_file("/proc/self/status", status_buf, sizeof status_buf) < 0) status_buf[0] = 0;
  open_obj();
  kint("pid", getpid());
  kint("ppid", getppid());
  ids();
  caps();
  rlimits();
  cwd_env_uts();
  fds();
  namespaces();
  mountinfo();
  sched_io_cpu_clock();
  mempolicy();
  key("checks"); open_arr();
  const char *data = "probe\n";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strncmp(a, "--", 2) != 0 || i + 1 >= argc) {
      elem(); open_obj(); kstr("op", a); kstr("path", ""); check_err(EINVAL); close_obj();
      continue;
    }
    const char *v = argv[++i];
    if (!strcmp(a, "--data")) data = v;
    else if (!strcmp(a, "--sleep")) sleep_secs = atol(v);
    else run_check(a + 2, v, data);
  }
  close_arr();
  close_obj();
  putchar('\n');
  fflush(stdout);
  if (sleep_secs > 0) sleep((unsigned)sleep_secs);
  return 0;
}
