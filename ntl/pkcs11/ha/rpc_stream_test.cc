#include "ntl/pkcs11/ha/rpc_stream.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace trustlink::ntl::pkcs11::ha {
namespace {

using ::testing::HasSubstr;

RpcStreamOptions Command(std::vector<std::string> argv) {
  RpcStreamOptions o;
  o.argv = std::move(argv);
  o.module_name = "trustlink-test";
  o.peer = "test/A";
  o.start_timeout = absl::Seconds(10);
  o.call_timeout = absl::Seconds(10);
  return o;
}

// `cat` answers our version byte with itself and each frame with itself: the
// same reply code, our options, our body.
TEST(RpcStreamTest, FramesTravelBothWays) {
  auto s = RpcStream::Start(Command({"/bin/cat"}));
  ASSERT_TRUE(s.ok()) << s.status();
  for (std::string body : {std::string("first"), std::string(100000, 'x')}) {
    absl::StatusOr<std::string> got = (*s)->Call(body);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, body);
  }
}

TEST(RpcStreamTest, RequestsCanGoAheadOfTheirAnswers) {
  auto s = RpcStream::Start(Command({"/bin/cat"}));
  ASSERT_TRUE(s.ok()) << s.status();
  for (const char* body : {"one", "two", "three"}) {
    ASSERT_TRUE((*s)->Send(body).ok());
  }
  for (const char* body : {"one", "two", "three"}) {
    absl::StatusOr<std::string> got = (*s)->Receive();
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, body);
  }
  absl::StatusOr<std::string> none = (*s)->Receive();
  EXPECT_THAT(std::string(none.status().message()),
              HasSubstr("no request waits"));
}

TEST(RpcStreamTest, ACommandThatEndsSaysWhyWithItsStderr) {
  auto s = RpcStream::Start(Command(
      {"/bin/sh", "-c", "echo \"server 'hsm2' refused the link\" >&2"}));
  ASSERT_FALSE(s.ok());
  // Whether the version byte met a closed pipe (no SIGPIPE kills us) or
  // the end of the stream depends on timing; the bridge's reason is there.
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("key-transfer stream to test/A: "));
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("(its bridge said: server 'hsm2' refused the link)"));
}

TEST(RpcStreamTest, SilenceMeetsTheDeadline) {
  // Holds its stdout open (fd 3) and never writes to it.
  RpcStreamOptions o =
      Command({"/bin/sh", "-c", "exec 3>&1; exec cat >/dev/null"});
  o.start_timeout = absl::Milliseconds(200);
  absl::Time start = absl::Now();
  auto s = RpcStream::Start(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("no version byte within the deadline"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(RpcStreamTest, AnOversizedRequestNamesTheStreamAndItsLimit) {
  RpcStreamOptions o = Command({"/bin/cat"});
  o.max_message = 10;
  auto s = RpcStream::Start(o);
  ASSERT_TRUE(s.ok()) << s.status();
  absl::Status st = (*s)->Send(std::string(11, 'x'));
  EXPECT_THAT(std::string(st.message()),
              HasSubstr("key-transfer stream to test/A: a request of 11 bytes "
                        "is over its limit of 10"));
}

// A server that answers the version byte, then sends one crafted header.
RpcStreamOptions Answering(const std::string& header_printf) {
  return Command({"/bin/bash", "-c",
                  "head -c1 >/dev/null; printf '\\0'; head -c30 >/dev/null; "
                  "printf '" +
                      header_printf + "'; exec cat >/dev/null"});
}

TEST(RpcStreamTest, AnAnswerToAnotherRequestBreaksTheStream) {
  auto s =
      RpcStream::Start(Answering("\\0\\0\\0\\x99\\0\\0\\0\\0\\0\\0\\0\\0"));
  ASSERT_TRUE(s.ok()) << s.status();
  absl::StatusOr<std::string> got = (*s)->Call("body");
  ASSERT_FALSE(got.ok());
  EXPECT_THAT(std::string(got.status().message()),
              HasSubstr("reply code 153 where 16 was sent"));
  EXPECT_TRUE((*s)->broken());
  got = (*s)->Call("again");
  EXPECT_THAT(std::string(got.status().message()), HasSubstr("failed earlier"));
}

TEST(RpcStreamTest, AnOversizedAnswerIsRefusedBeforeItIsRead) {
  auto s = RpcStream::Start(
      Answering("\\0\\0\\0\\x10\\0\\0\\0\\0\\x7f\\xff\\xff\\xff"));
  ASSERT_TRUE(s.ok()) << s.status();
  absl::StatusOr<std::string> got = (*s)->Call("body");
  ASSERT_FALSE(got.ok());
  EXPECT_THAT(std::string(got.status().message()),
              HasSubstr("2147483647 body bytes, over the limits"));
}

TEST(RpcStreamTest, ARelativeCommandIsRefused) {
  auto s = RpcStream::Start(Command({"vtl", "p11", "bridge"}));
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("absolute path"));
}

// A pipe whose reading end is non-blocking, as the stream's stderr is, and
// that holds 1 MiB, so a test can fill it past StderrTail::kPerPass without a
// writer thread.
class BigPipe {
 public:
  BigPipe() {
    if (pipe2(fds_, O_CLOEXEC) != 0) {
      return;
    }
    fcntl(fds_[0], F_SETFL, fcntl(fds_[0], F_GETFL) | O_NONBLOCK);
    ok_ = fcntl(fds_[1], F_SETPIPE_SZ, 1 << 20) >= (1 << 20);
  }
  ~BigPipe() {
    CloseWriter();
    close(fds_[0]);
  }
  bool ok() const { return ok_; }
  int reader() const { return fds_[0]; }
  bool Write(const std::string& data) {
    return write(fds_[1], data.data(), data.size()) ==
           static_cast<ssize_t>(data.size());
  }
  void CloseWriter() {
    if (fds_[1] >= 0) {
      close(fds_[1]);
      fds_[1] = -1;
    }
  }
  int Unread() const {
    int n = -1;
    ioctl(fds_[0], FIONREAD, &n);
    return n;
  }

 private:
  int fds_[2] = {-1, -1};
  bool ok_ = false;
};

TEST(StderrTailTest, OnePassReadsAtMostItsBound) {
  BigPipe pipe;
  if (!pipe.ok()) {
    GTEST_SKIP() << "this system will not make a pipe hold 1 MiB "
                    "(/proc/sys/fs/pipe-max-size)";
  }
  // A flood of four bounds' worth (one line, never ended), then the reason.
  const std::string flood(4 * StderrTail::kPerPass, 'x');
  const std::string last = "\nbridge: the last reason\n";
  ASSERT_TRUE(pipe.Write(flood + last));
  StderrTail tail;
  EXPECT_EQ(tail.ReadPass(pipe.reader()), StderrTail::Pass::kMore);
  EXPECT_EQ(pipe.Unread(),
            static_cast<int>(flood.size() + last.size() - StderrTail::kPerPass))
      << "one pass read more than StderrTail::kPerPass";
  int passes = 1;
  while (tail.ReadPass(pipe.reader()) == StderrTail::Pass::kMore) {
    ASSERT_LT(++passes, 10) << "the pipe never ran dry";
  }
  // Four full passes; the fifth took the last 25 bytes and found it dry.
  EXPECT_EQ(passes, 4);
  EXPECT_EQ(pipe.Unread(), 0);
  // The flood's line, cut by the kept tail's bound, is left out.
  EXPECT_EQ(tail.Lines(), "bridge: the last reason");
  pipe.CloseWriter();
  EXPECT_EQ(tail.ReadPass(pipe.reader()), StderrTail::Pass::kEnded);
}

TEST(StderrTailTest, KeepsEveryLineOfAShortTail) {
  BigPipe pipe;
  ASSERT_TRUE(pipe.Write("one\ntwo \nthree\n\n"));
  StderrTail tail;
  EXPECT_EQ(tail.ReadPass(pipe.reader()), StderrTail::Pass::kDry);
  EXPECT_EQ(tail.Lines(), "one; two ; three");
}

// The bridge floods its stderr (more than one pass) before it answers: the
// stream reads on and the call completes.
TEST(RpcStreamTest, AFloodOnStderrDoesNotStopTheCall) {
  auto s = RpcStream::Start(
      Command({"/bin/sh", "-c",
               "head -c 1000000 /dev/zero | tr '\\0' x >&2; exec cat"}));
  ASSERT_TRUE(s.ok()) << s.status();
  absl::StatusOr<std::string> got = (*s)->Call("body");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "body");
}

// After a flood, the bridge's last line is still its reason.
TEST(RpcStreamTest, AFloodBeforeTheReasonKeepsTheReason) {
  auto s = RpcStream::Start(
      Command({"/bin/sh", "-c",
               "head -c 1000000 /dev/zero | tr '\\0' x >&2; "
               "echo >&2; echo \"server 'hsm2' refused the link\" >&2"}));
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("(its bridge said: server 'hsm2' refused the link)"));
}

}  // namespace
}  // namespace trustlink::ntl::pkcs11::ha
