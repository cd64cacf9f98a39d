#include "init/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "common/unique_fd.h"
#include "init/error.h"

namespace ociinit {
namespace {

using tsrun::UniqueFd;

constexpr size_t kMaxOutput = 4096;

struct Pipe {
  UniqueFd r, w;
};

Pipe make_pipe(const std::string& step) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) throw_sys(step, "pipe2");
  return Pipe{UniqueFd(p[0]), UniqueFd(p[1])};
}

int64_t now_ms() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// In the forked child: only the hook's stdio survives execve (the container's preserved fds and
// oci-init's own fds are not the hook's business), and the signal mask is the clean one.
[[noreturn]] void exec_hook(const Hook& h, int in, int out) {
  if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0) ::_exit(127);
  ::syscall(SYS_close_range, 3, ~0U, 0);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  std::vector<char*> argv, envp;
  for (const auto& a : h.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : h.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  ::execve(h.path.c_str(), argv.data(), envp.data());
  std::string msg = "exec " + h.path + ": " + errno_text(errno) + "\n";
  (void)!::write(2, msg.data(), msg.size());
  ::_exit(127);
}

struct Outcome {
  int status = 0;
  bool timed_out = false;
  std::string output;
};

// Reads what is there; returns true at end of file.
bool drain(int fd, std::string& out) {
  char buf[4096];
  for (;;) {
    ssize_t r = tsrun::retry_eintr([&] { return ::read(fd, buf, sizeof buf); });
    if (r == 0) return true;
    if (r < 0) return errno != EAGAIN;
    if (out.size() < kMaxOutput) out.append(buf, std::min(static_cast<size_t>(r), kMaxOutput - out.size()));
  }
}

// Feeds the state, collects output and waits for exit or the deadline, all in one poll loop so a
// hook that never reads stdin or floods stdout cannot wedge oci-init.
Outcome supervise(pid_t pid, UniqueFd in_w, UniqueFd out_r, const std::string& state, int timeout, const std::string& step) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) {
    int e = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    throw_sys(step, "pidfd_open", "", e);
  }
  ::fcntl(in_w.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(out_r.get(), F_SETFL, O_NONBLOCK);
  Outcome o;
  size_t off = 0;
  if (state.empty()) in_w.reset();
  int64_t deadline = timeout > 0 ? now_ms() + int64_t(timeout) * 1000 : -1;
  for (;;) {
    struct pollfd p[3] = {{pidfd.get(), POLLIN, 0}, {out_r.get(), POLLIN, 0}, {in_w.get(), POLLOUT, 0}};
    int wait = deadline < 0 ? -1 : static_cast<int>(std::max<int64_t>(0, deadline - now_ms()));
    int n = ::poll(p, 3, wait);
    if (n < 0 && errno != EINTR) throw_sys(step, "poll");
    if (n == 0) {
      ::kill(pid, SIGKILL);
      o.timed_out = true;
      break;
    }
    if (p[1].revents) {
      if (drain(out_r.get(), o.output)) out_r.reset();
    }
    if (p[2].revents) {
      ssize_t w = ::write(in_w.get(), state.data() + off, state.size() - off);
      if (w > 0) off += static_cast<size_t>(w);
      // EPIPE (SIGPIPE is blocked around hooks): the hook does not read its state, which is its choice.
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || off == state.size()) in_w.reset();
    }
    if (p[0].revents) break;
  }
  if (tsrun::retry_eintr([&] { return ::waitpid(pid, &o.status, 0); }) < 0) throw_sys(step, "waitpid");
  if (out_r) drain(out_r.get(), o.output);
  return o;
}

std::string describe(const Outcome& o, const char* kind, size_t i, const Hook& h) {
  std::string msg = std::string(kind) + " hook #" + std::to_string(i) + " (" + h.path + ") ";
  if (o.timed_out) {
    msg += "timed out after " + std::to_string(h.timeout) + "s";
  } else if (WIFSIGNALED(o.status)) {
    msg += "killed by signal " + std::to_string(WTERMSIG(o.status));
  } else {
    msg += "exited with status " + std::to_string(WEXITSTATUS(o.status));
  }
  std::string out = o.output;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  if (!out.empty()) msg += ": " + out;
  return msg;
}

void run_one(const Hook& h, const std::string& state, const char* kind, size_t i) {
  std::string step = std::string("hook ") + kind + " #" + std::to_string(i);
  Pipe in = make_pipe(step), out = make_pipe(step);
  pid_t pid = ::fork();
  if (pid < 0) throw_sys(step, "fork", h.path);
  if (pid == 0) exec_hook(h, in.r.get(), out.w.get());
  in.r.reset();
  out.w.reset();
  Outcome o = supervise(pid, std::move(in.w), std::move(out.r), state, h.timeout, step);
  if (o.timed_out || !WIFEXITED(o.status) || WEXITSTATUS(o.status) != 0) throw_msg(step, h.path, describe(o, kind, i, h));
}

// Blocks SIGPIPE while hooks run (a hook may close stdin before reading the state) and discards
// any that arrived, so the container process starts with neither a pending signal nor a mask.
struct SigpipeBlock {
  sigset_t set;
  SigpipeBlock() {
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
  }
  ~SigpipeBlock() {
    struct timespec zero{0, 0};
    while (::sigtimedwait(&set, nullptr, &zero) > 0) {
    }
    ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
  }
};

}  // namespace

void run_hooks(const std::vector<Hook>& hooks, const std::string& state, const char* kind) {
  if (hooks.empty()) return;
  SigpipeBlock guard;
  for (size_t i = 0; i < hooks.size(); i++) run_one(hooks[i], state, kind, i);
}

}  // namespace ociinit
