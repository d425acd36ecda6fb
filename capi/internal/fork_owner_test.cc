#include "capi/internal/fork_owner.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "gtest/gtest.h"

namespace trustlink::capi::internal {
namespace {

// Exit codes of the child processes below.
constexpr int kOk = 0;
constexpr int kNoSeccomp = 90;
constexpr int kGetpidStillWorks = 91;
constexpr int kOwnerThoughtForked = 92;
constexpr int kGrandchildFailed = 93;
constexpr int kGrandchildMissedFork = 94;
constexpr int kGrandchildOwnHandle = 95;

// BlockGetpid makes getpid() fail with EPERM in this process and its children
// (seccomp), so a check that still makes the system call sees -1.
bool BlockGetpid() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getpid, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{
      static_cast<unsigned short>(sizeof(filter) / sizeof(filter[0])), filter};
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

int ExitCodeOf(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
    return -1;
  }
  return WEXITSTATUS(status);
}

// In a child of the test: a handle made before getpid() is blocked is still
// recognised as this process's (no system call per check), and in a
// grandchild made by a raw fork system call it is recognised as inherited.
int CheckWithoutGetpid() {
  ForkOwner owner;  // reads this process's id once
  if (!BlockGetpid()) {
    return kNoSeccomp;
  }
  if (syscall(SYS_getpid) != -1) {
    return kGetpidStillWorks;
  }
  for (int i = 0; i < 1000; ++i) {
    if (owner.InForkedChild()) {
      return kOwnerThoughtForked;
    }
  }
  // Past the atfork handlers, as a raw clone would be.
  const pid_t child = static_cast<pid_t>(syscall(SYS_fork));
  if (child == 0) {
    // getpid() fails here, so only the wiped page can say "another process".
    if (!owner.InForkedChild()) {
      _exit(kGrandchildMissedFork);
    }
    _exit(kOk);
  }
  if (child < 0) {
    return kGrandchildFailed;
  }
  const int code = ExitCodeOf(child);
  if (code != kOk) {
    return code;
  }
  return owner.InForkedChild() ? kOwnerThoughtForked : kOk;
}

TEST(ForkOwnerTest, ChecksWithoutASystemCallAndSeesARawForkChild) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    _exit(CheckWithoutGetpid());
  }
  const int code = ExitCodeOf(child);
  if (code == kNoSeccomp) {
    GTEST_SKIP() << "seccomp filters are not available here";
  }
  EXPECT_NE(code, kOwnerThoughtForked)
      << "the owning process was taken for a fork child: the check still "
         "calls getpid() (blocked in this test)";
  EXPECT_NE(code, kGrandchildMissedFork)
      << "a child made by syscall(SYS_fork) was taken for the owner";
  EXPECT_EQ(code, kOk) << "child exit code " << code;
}

TEST(ForkOwnerTest, AChildsOwnHandleIsItsOwn) {
  ForkOwner parent_handle;
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ForkOwner own;
    const bool ok = parent_handle.InForkedChild() && !own.InForkedChild() &&
                    own.pid() == getpid() && parent_handle.pid() != getpid();
    _exit(ok ? kOk : kGrandchildOwnHandle);
  }
  EXPECT_EQ(ExitCodeOf(child), kOk);
  EXPECT_FALSE(parent_handle.InForkedChild());
  EXPECT_EQ(parent_handle.pid(), getpid());
}

}  // namespace
}  // namespace trustlink::capi::internal
