#include "examples/ntlsd/daemonize.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ntlsd {
namespace {

// WaitForChild is the parent's half: 'R' on the pipe means ready; the pipe
// closing without it means the child exited (or crashed) before it was ready.
[[noreturn]] void WaitForChild(pid_t child, int read_fd) {
  char word = 0;
  ssize_t n;
  do {
    n = read(read_fd, &word, 1);
  } while (n < 0 && errno == EINTR);
  if (n == 1 && word == 'R') {
    _exit(0);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
    _exit(WEXITSTATUS(status));
  }
  fprintf(stderr, "ntlsd: the daemon ended before it was ready%s\n",
          WIFSIGNALED(status) ? " (killed by a signal)" : "");
  _exit(1);
}

}  // namespace

bool Daemonizer::Fork() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return false;
  }
  const pid_t child = fork();
  if (child < 0) {
    close(fds[0]);
    close(fds[1]);
    return false;
  }
  if (child > 0) {
    close(fds[1]);
    WaitForChild(child, fds[0]);
  }
  close(fds[0]);
  ready_fd_ = fds[1];
  setsid();
  const int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd >= 0) {
    dup2(null_fd, STDIN_FILENO);
    dup2(null_fd, STDOUT_FILENO);
    close(null_fd);
  }
  return true;
}

void Daemonizer::Ready() {
  if (ready_fd_ < 0) {
    return;
  }
  const char word = 'R';
  ssize_t ignored = write(ready_fd_, &word, 1);
  (void)ignored;
  close(ready_fd_);
  ready_fd_ = -1;
}

}  // namespace ntlsd
