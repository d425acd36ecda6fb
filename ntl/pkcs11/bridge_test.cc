#include "ntl/pkcs11/bridge.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "ntl/internal/mutex.h"
#include "ntl/pkcs11/test_util.h"
#include "ntl/status.h"

namespace trustlink::ntl::pkcs11 {
namespace {

// FakeChannel records what the bridge sent; the test plays the service through
// `callbacks`.
struct FakeLink {
  internal::Mutex mu;
  std::string sent ABSL_GUARDED_BY(mu);
  size_t sends ABSL_GUARDED_BY(mu) = 0;
  bool closed ABSL_GUARDED_BY(mu) = false;
  ChannelCallbacks callbacks;
  std::atomic<bool> opened{false};

  std::string Sent() {
    internal::MutexLock lock(&mu);
    return sent;
  }
  size_t Sends() {
    internal::MutexLock lock(&mu);
    return sends;
  }
  bool Closed() {
    internal::MutexLock lock(&mu);
    return closed;
  }
};

class FakeChannel : public Channel {
 public:
  explicit FakeChannel(FakeLink* link) : link_(link) {}
  absl::Status Send(absl::string_view data) override {
    internal::MutexLock lock(&link_->mu);
    link_->sent.append(data.data(), data.size());
    ++link_->sends;
    return absl::OkStatus();
  }
  absl::Status Close() override {
    internal::MutexLock lock(&link_->mu);
    link_->closed = true;
    return absl::OkStatus();
  }

 private:
  FakeLink* link_;
};

ChannelOpener OpenerFor(FakeLink* link) {
  return [link](ChannelCallbacks callbacks)
             -> absl::StatusOr<std::unique_ptr<Channel>> {
    link->callbacks = std::move(callbacks);
    link->opened = true;
    return std::unique_ptr<Channel>(new FakeChannel(link));
  };
}

std::string ReadSome(int fd, size_t n) {
  std::string out;
  while (out.size() < n) {
    char buf[256];
    ssize_t r = read(fd, buf, sizeof(buf));
    if (r <= 0) {
      break;
    }
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

TEST(BridgeTest, PumpsBothWaysAndEndsAtApplicationEof) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  FakeLink link;
  absl::Status result = absl::UnknownError("not run");
  std::thread bridge(
      [&] { result = RunBridge(sv[1], sv[1], OpenerFor(&link)); });
  ASSERT_EQ(write(sv[0], "request", 7), 7);
  ASSERT_TRUE(testing::WaitUntil([&] { return link.Sent() == "request"; }));
  link.callbacks.on_data("response");
  EXPECT_EQ(ReadSome(sv[0], 8), "response");
  shutdown(sv[0], SHUT_WR);  // the application finalised
  bridge.join();
  EXPECT_TRUE(result.ok()) << result;
  EXPECT_TRUE(link.Closed());
  close(sv[0]);
  close(sv[1]);
}

// p11-kit's client writes a call in three pieces (header, options, body). The
// bridge sends it to the link as one piece, however the pieces arrive: one
// frame, one TLS record and one write into p11-kit remote's pipe per call.
TEST(BridgeTest, ACallWrittenInPiecesIsSentWhole) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  FakeLink link;
  BridgeOptions options;
  options.max_hold = absl::Hours(1);  // only a whole call may release it
  absl::Status result = absl::UnknownError("not run");
  std::thread bridge(
      [&] { result = RunBridge(sv[1], sv[1], OpenerFor(&link), options); });
  ASSERT_TRUE(testing::WaitUntil([&] { return link.opened.load(); }));
  // Each piece is written only once the bridge has read everything before
  // it, the worst case for coalescing (the bridge woke on the first piece).
  auto write_and_wait_read = [&](const std::string& piece) {
    ASSERT_EQ(write(sv[0], piece.data(), piece.size()),
              static_cast<ssize_t>(piece.size()));
    ASSERT_TRUE(testing::WaitUntil([&] {
      int unread = -1;
      return ioctl(sv[1], FIONREAD, &unread) == 0 && unread == 0;
    }));
  };
  write_and_wait_read(std::string(1, '\0'));  // the protocol version byte
  ASSERT_TRUE(testing::WaitUntil([&] { return link.Sends() == 1; }));
  const std::string header = testing::P11KitHeader(0x10, 6, 4);
  write_and_wait_read(header);
  write_and_wait_read("module");
  write_and_wait_read("body");
  ASSERT_TRUE(testing::WaitUntil(
      [&] { return link.Sent().size() == 1 + header.size() + 10; }));
  EXPECT_EQ(link.Sent(), std::string(1, '\0') + header + "module" + "body");
  EXPECT_EQ(link.Sends(), 2u) << "version byte, then the call in one piece";
  shutdown(sv[0], SHUT_WR);
  bridge.join();
  EXPECT_TRUE(result.ok()) << result;
  close(sv[0]);
  close(sv[1]);
}

// UnfinishedCall is the version byte and the header of a call whose body never
// comes.
std::string UnfinishedCall() {
  return std::string(1, '\0') + testing::P11KitHeader(0x10, 0, 99);
}

// SentOfUnfinishedCall runs a bridge with `max_hold`, writes UnfinishedCall()
// and returns what reached the link: waiting for all of it before the
// application's EOF when `before_eof`, else only after that EOF.
std::string SentOfUnfinishedCall(absl::Duration max_hold, bool before_eof) {
  int sv[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  FakeLink link;
  BridgeOptions options;
  options.max_hold = max_hold;
  std::thread bridge([&] {
    RunBridge(sv[1], sv[1], OpenerFor(&link), options).IgnoreError();
  });
  const std::string call = UnfinishedCall();
  EXPECT_EQ(write(sv[0], call.data(), call.size()),
            static_cast<ssize_t>(call.size()));
  if (before_eof) {
    EXPECT_TRUE(testing::WaitUntil([&] { return link.Sent() == call; }));
  }
  shutdown(sv[0], SHUT_WR);
  bridge.join();
  close(sv[0]);
  close(sv[1]);
  return link.Sent();
}

// Bytes that are not p11-kit's framing are not held back for long: a request
// that never completes is sent after max_hold, and at the application's EOF.
TEST(BridgeTest, AnUnfinishedCallIsSentAfterMaxHoldOrAtEof) {
  EXPECT_EQ(SentOfUnfinishedCall(absl::Milliseconds(1), true),
            UnfinishedCall());
  EXPECT_EQ(SentOfUnfinishedCall(absl::Hours(1), false), UnfinishedCall());
}

// A blocking output (a regular file here, a terminal in use) is written by the
// bridge loop, never by the link's callback; answers still arrive in order.
TEST(BridgeTest, BlockingOutputIsWrittenByTheLoop) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  std::string path = std::string(getenv("TEST_TMPDIR")) + "/bridge_out";
  int out = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(out, 0);
  FakeLink link;
  absl::Status result = absl::UnknownError("not run");
  std::thread bridge([&] { result = RunBridge(sv[1], out, OpenerFor(&link)); });
  ASSERT_TRUE(testing::WaitUntil([&] { return link.opened.load(); }));
  link.callbacks.on_data("first ");
  link.callbacks.on_data("second");
  struct stat st;
  ASSERT_TRUE(testing::WaitUntil(
      [&] { return fstat(out, &st) == 0 && st.st_size == 12; }));
  char buf[16] = {};
  ASSERT_EQ(pread(out, buf, sizeof(buf), 0), 12);
  EXPECT_EQ(std::string(buf, 12), "first second");
  shutdown(sv[0], SHUT_WR);  // the application finalised
  bridge.join();
  EXPECT_TRUE(result.ok()) << result;
  close(out);
  close(sv[0]);
  close(sv[1]);
}

TEST(BridgeTest, StreamErrorFailsTheApplicationsCallAndIsReturned) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  FakeLink link;
  absl::Status seen;
  BridgeOptions options;
  options.on_stream_end = [&](const absl::Status& s) { seen = s; };
  absl::Status result;
  std::thread bridge(
      [&] { result = RunBridge(sv[1], sv[1], OpenerFor(&link), options); });
  ASSERT_TRUE(testing::WaitUntil([&] { return link.opened.load(); }));
  link.callbacks.on_close(Error(absl::StatusCode::kPermissionDenied,
                                TL_E_PARTITION_NOT_ASSIGNED, "revoked"));
  // The application's pending read sees EOF (a PKCS#11 error, not a hang)...
  EXPECT_EQ(ReadSome(sv[0], 1), "");
  // ...and its next write does not fail while the bridge drains.
  EXPECT_EQ(write(sv[0], "late", 4), 4);
  shutdown(sv[0], SHUT_WR);
  bridge.join();
  EXPECT_EQ(ToTlStatus(result), TL_E_PARTITION_NOT_ASSIGNED);
  EXPECT_EQ(ToTlStatus(seen), TL_E_PARTITION_NOT_ASSIGNED);
  close(sv[0]);
  close(sv[1]);
}

TEST(BridgeTest, CleanCloseDeliversTheLastAnswerFirst) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  FakeLink link;
  absl::Status result = absl::UnknownError("not run");
  std::thread bridge(
      [&] { result = RunBridge(sv[1], sv[1], OpenerFor(&link)); });
  ASSERT_TRUE(testing::WaitUntil([&] { return link.opened.load(); }));
  link.callbacks.on_data("last");
  link.callbacks.on_close(absl::OkStatus());
  EXPECT_EQ(ReadSome(sv[0], 4), "last");
  shutdown(sv[0], SHUT_WR);
  bridge.join();
  EXPECT_TRUE(result.ok()) << result;
  close(sv[0]);
  close(sv[1]);
}

TEST(BridgeTest, OpenFailureIsReturned) {
  absl::Status s = RunBridge(
      0, 1, [](ChannelCallbacks) -> absl::StatusOr<std::unique_ptr<Channel>> {
        return Error(absl::StatusCode::kUnavailable, TL_E_CONNECTION_REFUSED,
                     "no server");
      });
  EXPECT_EQ(ToTlStatus(s), TL_E_CONNECTION_REFUSED);
}

TEST(BridgeTest, FloodFromTheServiceIsBounded) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  FakeLink link;
  BridgeOptions options;
  options.max_pending_bytes = 1 << 20;
  absl::Status result;
  std::thread bridge(
      [&] { result = RunBridge(sv[1], sv[1], OpenerFor(&link), options); });
  ASSERT_TRUE(testing::WaitUntil([&] { return link.opened.load(); }));
  // The application never reads; 64 MiB offered in 64 KiB pieces must be cut
  // off.
  std::string chunk(64 * 1024, 'x');
  for (int i = 0; i < 1024; ++i) {
    link.callbacks.on_data(chunk);
  }
  shutdown(sv[0], SHUT_WR);
  bridge.join();
  EXPECT_EQ(ToTlStatus(result), TL_E_RESOURCE_EXHAUSTED);
  close(sv[0]);
  close(sv[1]);
}

}  // namespace
}  // namespace trustlink::ntl::pkcs11
