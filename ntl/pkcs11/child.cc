#include "ntl/pkcs11/child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ntl/status.h"

namespace trustlink::ntl::pkcs11 {
namespace {

void CloseFd(int* fd) {
  if (*fd >= 0) {
    close(*fd);
    *fd = -1;
  }
}

// ChildExec runs in the forked child: only async-signal-safe calls from here
// on.
[[noreturn]] void ChildExec(int in_fd, int out_fd, int err_fd, int report_fd,
                            const char* path, char* const* argv,
                            char* const* envp, mode_t mask) {
  // dup2 clears O_CLOEXEC on the copies; the originals are closed by
  // close_range below.
  if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) {
    int err = errno;
    (void)!write(report_fd, &err, sizeof(err));
    _exit(127);
  }
  // Close everything above stderr except the exec-report pipe (O_CLOEXEC: it
  // closes itself at a successful exec, which is how the parent learns the exec
  // worked).
  if (report_fd > 3) {
    syscall(SYS_close_range, 3u, static_cast<unsigned>(report_fd - 1), 0u);
  }
  syscall(SYS_close_range, static_cast<unsigned>(report_fd + 1), ~0u, 0u);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // Ignored signals stay ignored across exec; a server that ignores SIGPIPE
  // must not pass that on.
  for (int sig = 1; sig < NSIG; ++sig) {
    signal(sig, SIG_DFL);
  }
  umask(mask);
  execve(path, argv, envp);
  int err = errno;
  (void)!write(report_fd, &err, sizeof(err));
  _exit(127);
}

}  // namespace

absl::StatusOr<Child> Child::Spawn(const ChildSpec& spec) {
  if (spec.path.empty() || spec.path[0] != '/') {
    return Error(
        absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
        absl::StrCat("program path '", spec.path, "' is not absolute"));
  }
  std::vector<char*> argv;
  for (const std::string& a : spec.argv) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& e : spec.env) {
    envp.push_back(const_cast<char*>(e.c_str()));
  }
  envp.push_back(nullptr);

  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1},
      report[2] = {-1, -1};
  auto close_all = [&] {
    for (int* p : {in, out, err, report}) {
      CloseFd(&p[0]);
      CloseFd(&p[1]);
    }
  };
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 ||
      pipe2(err, O_CLOEXEC) != 0 || pipe2(report, O_CLOEXEC) != 0) {
    int e = errno;
    close_all();
    return Error(
        absl::StatusCode::kResourceExhausted, TL_E_RESOURCE_EXHAUSTED,
        absl::StrCat("cannot make pipes for ", spec.path, ": ", strerror(e)));
  }
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close_all();
    return Error(
        absl::StatusCode::kResourceExhausted, TL_E_RESOURCE_EXHAUSTED,
        absl::StrCat("cannot fork for ", spec.path, ": ", strerror(e)));
  }
  if (pid == 0) {
    ChildExec(in[0], out[1], err[1], report[1], spec.path.c_str(), argv.data(),
              envp.data(), spec.umask);
  }
  CloseFd(&in[0]);
  CloseFd(&out[1]);
  CloseFd(&err[1]);
  CloseFd(&report[1]);

  Child child;
  child.pid_ = pid;
  child.reaped_ = false;
  child.pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  child.stdin_fd_ = in[1];
  child.stdout_fd_ = out[0];
  child.stderr_fd_ = err[0];

  int exec_errno = 0;
  ssize_t n;
  do {
    n = read(report[0], &exec_errno, sizeof(exec_errno));
  } while (n < 0 && errno == EINTR);
  CloseFd(&report[0]);
  if (n == static_cast<ssize_t>(sizeof(exec_errno))) {
    child.Wait(absl::InfiniteFuture()).IgnoreError();
    return Error(
        absl::StatusCode::kFailedPrecondition, TL_E_FAILED_PRECONDITION,
        absl::StrCat("cannot run ", spec.path, ": ", strerror(exec_errno),
                     "; is the package that provides it installed?"));
  }
  return child;
}

Child::Child(Child&& other) noexcept { *this = std::move(other); }

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    Reset();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::exchange(other.pidfd_, -1);
    stdin_fd_ = std::exchange(other.stdin_fd_, -1);
    stdout_fd_ = std::exchange(other.stdout_fd_, -1);
    stderr_fd_ = std::exchange(other.stderr_fd_, -1);
    reaped_ = std::exchange(other.reaped_, true);
    wait_status_ = other.wait_status_;
  }
  return *this;
}

Child::~Child() { Reset(); }

void Child::Reset() {
  CloseStdin();
  CloseStdout();
  CloseStderr();
  if (!reaped_) {
    Kill(SIGKILL);
    Wait(absl::InfiniteFuture()).IgnoreError();
  }
  CloseFd(&pidfd_);
  pid_ = -1;
}

void Child::CloseStdin() { CloseFd(&stdin_fd_); }
void Child::CloseStdout() { CloseFd(&stdout_fd_); }
void Child::CloseStderr() { CloseFd(&stderr_fd_); }

void Child::Kill(int sig) {
  if (reaped_) {
    return;
  }
  // The pidfd names this very process even if its pid were reused; it cannot be
  // reused before we reap it anyway, so kill() is the fallback when pidfd_open
  // was unavailable.
  if (pidfd_ >= 0) {
    syscall(SYS_pidfd_send_signal, pidfd_, sig, nullptr, 0u);
  } else {
    kill(pid_, sig);
  }
}

absl::StatusOr<int> Child::Wait(absl::Time deadline) {
  if (reaped_) {
    return wait_status_;
  }
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      wait_status_ = status;
      return status;
    }
    if (r < 0 && errno != EINTR) {
      reaped_ = true;  // not our child any more (someone else reaped it)
      wait_status_ = 0;
      return wait_status_;
    }
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return Error(absl::StatusCode::kDeadlineExceeded, TL_E_DEADLINE_EXCEEDED,
                   absl::StrCat("process ", pid_, " is still running"));
    }
    int timeout_ms =
        deadline == absl::InfiniteFuture()
            ? -1
            : static_cast<int>(absl::ToInt64Milliseconds(left) + 1);
    if (pidfd_ >= 0) {
      struct pollfd p = {pidfd_, POLLIN, 0};
      poll(&p, 1, timeout_ms);
    } else {
      // No pidfd (kernel before 5.3): a blocking waitpid is the only wait
      // without a sleep.
      if (deadline == absl::InfiniteFuture()) {
        r = waitpid(pid_, &status, 0);
        if (r == pid_) {
          reaped_ = true;
          wait_status_ = status;
          return status;
        }
      }
      struct timespec ts = {0, 1000000};
      nanosleep(&ts, nullptr);
    }
  }
}

int Child::Reap(absl::Duration grace) {
  absl::StatusOr<int> st = Wait(absl::Now() + grace);
  if (st.ok()) {
    return *st;
  }
  Kill(SIGKILL);
  return Wait(absl::InfiniteFuture()).value_or(0);
}

std::string DescribeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) {
    return absl::StrCat("exited with status ", WEXITSTATUS(wait_status));
  }
  if (WIFSIGNALED(wait_status)) {
    return absl::StrCat("killed by signal ", WTERMSIG(wait_status));
  }
  return absl::StrCat("ended with wait status ", wait_status);
}

absl::StatusOr<RunResult> RunToCompletion(const ChildSpec& spec,
                                          absl::Time deadline) {
  absl::StatusOr<Child> spawned = Child::Spawn(spec);
  if (!spawned.ok()) {
    return spawned.status();
  }
  Child child = std::move(*spawned);
  child.CloseStdin();
  constexpr size_t kMaxOutput = 64 * 1024;
  std::string out, err;
  while (child.stdout_fd() >= 0 || child.stderr_fd() >= 0) {
    struct pollfd p[2] = {{child.stdout_fd(), POLLIN, 0},
                          {child.stderr_fd(), POLLIN, 0}};
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      child.Kill(SIGKILL);
      child.Wait(absl::InfiniteFuture()).IgnoreError();
      return Error(
          absl::StatusCode::kDeadlineExceeded, TL_E_DEADLINE_EXCEEDED,
          absl::StrCat(spec.path, " did not finish in time and was killed"));
    }
    int r = poll(p, 2, static_cast<int>(absl::ToInt64Milliseconds(left) + 1));
    if (r < 0 && errno != EINTR) {
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (p[i].fd < 0 || p[i].revents == 0) {
        continue;
      }
      char buf[4096];
      ssize_t n = read(p[i].fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        i == 0 ? child.CloseStdout() : child.CloseStderr();
        continue;
      }
      std::string& dst = i == 0 ? out : err;
      if (dst.size() < kMaxOutput) {
        dst.append(buf,
                   std::min(static_cast<size_t>(n), kMaxOutput - dst.size()));
      }
    }
  }
  absl::StatusOr<int> status = child.Wait(deadline);
  if (!status.ok()) {
    child.Kill(SIGKILL);
    child.Wait(absl::InfiniteFuture()).IgnoreError();
    return status.status();
  }
  RunResult result;
  result.wait_status = *status;
  result.output = out + err;
  return result;
}

}  // namespace trustlink::ntl::pkcs11
