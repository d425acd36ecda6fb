#include "ntl/pkcs11/child.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "ntl/status.h"

namespace trustlink::ntl::pkcs11 {
namespace {

TEST(ChildTest, RunsWithOnlyTheGivenEnvironment) {
  ChildSpec spec{"/usr/bin/env", {"env"}, {"ONLY=this"}};
  absl::StatusOr<RunResult> r =
      RunToCompletion(spec, absl::Now() + absl::Seconds(10));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(WIFEXITED(r->wait_status));
  EXPECT_EQ(r->output, "ONLY=this\n");
}

TEST(ChildTest, LeaksNoDescriptors) {
  // A descriptor opened without O_CLOEXEC, as careless library code might.
  int leaky = open("/dev/null", O_RDONLY);
  ASSERT_GE(leaky, 0);
  ChildSpec spec{"/bin/ls", {"ls", "/proc/self/fd"}, {}};
  absl::StatusOr<RunResult> r =
      RunToCompletion(spec, absl::Now() + absl::Seconds(10));
  close(leaky);
  ASSERT_TRUE(r.ok()) << r.status();
  // 0, 1, 2 and the descriptor ls opens to read the directory.
  EXPECT_EQ(r->output, "0\n1\n2\n3\n");
}

TEST(ChildTest, MissingProgramSaysSo) {
  ChildSpec spec{"/nonexistent/p11-kit", {"p11-kit"}, {}};
  absl::StatusOr<Child> c = Child::Spawn(spec);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(ToTlStatus(c.status()), TL_E_FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(c.status().message(), "/nonexistent/p11-kit"));
  EXPECT_TRUE(absl::StrContains(c.status().message(), "installed"));
}

TEST(ChildTest, RelativePathRefused) {
  ChildSpec spec{"p11-kit", {"p11-kit"}, {}};
  EXPECT_EQ(ToTlStatus(Child::Spawn(spec).status()), TL_E_INVALID_ARGUMENT);
}

TEST(ChildTest, DeadlineKillsAndReaps) {
  ChildSpec spec{"/bin/sleep", {"sleep", "600"}, {}};
  absl::Time start = absl::Now();
  absl::StatusOr<RunResult> r =
      RunToCompletion(spec, absl::Now() + absl::Milliseconds(200));
  EXPECT_EQ(ToTlStatus(r.status()), TL_E_DEADLINE_EXCEEDED);
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
}

TEST(ChildTest, ReapKillsAfterGrace) {
  ChildSpec spec{"/bin/sleep", {"sleep", "600"}, {}};
  absl::StatusOr<Child> c = Child::Spawn(spec);
  ASSERT_TRUE(c.ok()) << c.status();
  int status = c->Reap(absl::Milliseconds(50));
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_TRUE(c->reaped());
  EXPECT_EQ(DescribeWaitStatus(status), "killed by signal 9");
}

TEST(ChildTest, StdinEofEndsCat) {
  ChildSpec spec{"/bin/cat", {"cat"}, {}};
  absl::StatusOr<Child> c = Child::Spawn(spec);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(write(c->stdin_fd(), "hi", 2), 2);
  c->CloseStdin();
  char buf[8];
  ASSERT_EQ(read(c->stdout_fd(), buf, sizeof(buf)), 2);
  absl::StatusOr<int> st = c->Wait(absl::Now() + absl::Seconds(10));
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(DescribeWaitStatus(*st), "exited with status 0");
}

}  // namespace
}  // namespace trustlink::ntl::pkcs11
