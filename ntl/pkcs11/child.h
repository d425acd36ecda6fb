#ifndef TRUSTLINK_NTL_PKCS11_CHILD_H_
#define TRUSTLINK_NTL_PKCS11_CHILD_H_

// Child: a process started with fork/exec, no shell, a caller-given minimal
// environment and pipes for stdin, stdout and stderr. Every descriptor of ours
// except those three is closed in the child (close_range), so nothing leaks
// even from code that forgot O_CLOEXEC.

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace trustlink::ntl::pkcs11 {

struct ChildSpec {
  std::string path;  // absolute path of the program; no PATH search
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> env;   // "NAME=value"; nothing else is inherited
  mode_t umask = 077;
};

// Thread safety: a Child is used by one thread at a time. Spawn is safe to call
// from any thread of a multi-threaded process (the child runs only
// async-signal-safe calls).
class Child {
 public:
  static absl::StatusOr<Child> Spawn(const ChildSpec& spec);

  Child() = default;
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  // The destructor kills (SIGKILL) and reaps a child that is still running.
  ~Child();

  pid_t pid() const { return pid_; }
  // The parent's ends of the pipes (O_CLOEXEC); -1 once closed.
  int stdin_fd() const { return stdin_fd_; }
  int stdout_fd() const { return stdout_fd_; }
  int stderr_fd() const { return stderr_fd_; }
  void CloseStdin();
  void CloseStdout();
  void CloseStderr();

  // Kill sends `sig` if the child has not been reaped.
  void Kill(int sig);
  // Wait reaps the child, waiting until `deadline`. It returns the wait status,
  // or DEADLINE_EXCEEDED if the child is still running then.
  absl::StatusOr<int> Wait(absl::Time deadline);
  // Reap waits until `grace` has passed, then kills with SIGKILL and reaps.
  // Never fails.
  int Reap(absl::Duration grace);
  bool reaped() const { return reaped_; }

 private:
  void Reset();
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  bool reaped_ = true;
  int wait_status_ = 0;
};

// DescribeWaitStatus says "exited with status 3" or "killed by signal 9".
std::string DescribeWaitStatus(int wait_status);

// RunResult is what RunToCompletion saw.
struct RunResult {
  int wait_status = 0;
  std::string output;  // stdout then stderr, each cut at 64 KiB
};

// RunToCompletion runs `spec` with stdin closed and collects its output,
// killing it if it has not finished by `deadline` (DEADLINE_EXCEEDED).
absl::StatusOr<RunResult> RunToCompletion(const ChildSpec& spec,
                                          absl::Time deadline);

}  // namespace trustlink::ntl::pkcs11

#endif  // TRUSTLINK_NTL_PKCS11_CHILD_H_
