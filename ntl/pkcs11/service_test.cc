#include "ntl/pkcs11/service.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ntl/pkcs11/test_util.h"
#include "ntl/status.h"

namespace trustlink::ntl::pkcs11 {
namespace {

using testing::FakeP11Kit;
using testing::RecordingSink;
using testing::StoreWithPartitions;
using testing::WaitUntil;

ServiceOptions WithFake(const std::string& name, const std::string& body) {
  ServiceOptions o;
  o.p11_kit = FakeP11Kit(name, body);
  return o;
}

TEST(Pkcs11ServiceTest, PumpsBytesThroughTheChild) {
  Pkcs11Service service(StoreWithPartitions("svc", {"partA"}),
                        WithFake("cat", "exec cat"));
  auto sink = std::make_shared<RecordingSink>();
  absl::StatusOr<std::unique_ptr<StreamSession>> s =
      service.Open("partA", sink);
  ASSERT_TRUE(s.ok()) << s.status();
  (*s)->OnData("hello ");
  (*s)->OnData("world");
  EXPECT_EQ(sink->WaitForData(11), "hello world");
  (*s)->OnClose();
  s->reset();
  EXPECT_TRUE(WaitUntil([&] { return service.live_sessions() == 0; }));
}

// p11-kit remote writes an answer's header and body with two writes. The
// client gets each answer as one piece (one frame, one TLS record, one wake-up
// of its bridge), even when the pump reads the header before the body is
// written: the fake writes each piece only once the one before was read.
TEST(Pkcs11ServiceTest, AnAnswerWrittenInPiecesIsSentWhole) {
  const std::string header = testing::P11KitHeader(0x10, 0, 8);
  std::string header_escaped;
  for (char ch : header) {
    header_escaped += absl::StrCat(
        "\\x", absl::Hex(static_cast<uint8_t>(ch), absl::kZeroPad2));
  }
  // Python: write a piece, then wait (bounded) until the pipe is drained.
  const std::string fake = absl::StrCat(
      "exec python3 -c '\n"
      "import fcntl, os, struct, sys, termios, time\n"
      "def put(b):\n"
      "    os.write(1, b)\n"
      "    end = time.monotonic() + 20\n"
      "    while time.monotonic() < end:\n"
      "        n = struct.unpack(\"i\", fcntl.ioctl(1, termios.FIONREAD, "
      "b\"\\0\" * 4))[0]\n"
      "        if n == 0: return\n"
      "        time.sleep(0.001)\n"
      "put(b\"\\0\")\n"
      "put(b\"",
      header_escaped,
      "\")\n"
      "put(b\"answer!!\")\n"
      "sys.stdin.read()\n'");
  ServiceOptions o = WithFake("pieces", fake);
  o.max_hold = absl::Hours(1);  // only a whole answer may release it
  Pkcs11Service service(StoreWithPartitions("svc", {"partA"}), o);
  auto sink = std::make_shared<RecordingSink>();
  auto s = service.Open("partA", sink);
  ASSERT_TRUE(s.ok()) << s.status();
  const std::string want = std::string(1, '\0') + header + "answer!!";
  EXPECT_EQ(sink->WaitForData(want.size()), want);
  EXPECT_EQ(sink->sends(), 2u) << "version byte, then the answer in one piece";
  (*s)->OnClose();
  s->reset();
  EXPECT_TRUE(WaitUntil([&] { return service.live_sessions() == 0; }));
}

TEST(Pkcs11ServiceTest, ChildGetsOnlyThePartitionsConfig) {
  Pkcs11Service service(StoreWithPartitions("svc", {"partA"}),
                        WithFake("env", "echo \"$@\"; exec env"));
  auto sink = std::make_shared<RecordingSink>();
  absl::StatusOr<std::unique_ptr<StreamSession>> s =
      service.Open("partA", sink);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_TRUE(sink->WaitClosed());
  std::string out = sink->WaitForData(0);
  EXPECT_TRUE(absl::StrContains(
      out, "remote -p /usr/lib/softhsm/libsofthsm2.so pkcs11:token=partA\n"))
      << out;
  EXPECT_TRUE(absl::StrContains(out, "/svc/softhsm2.conf\n")) << out;
  EXPECT_FALSE(absl::StrContains(out, "HOME=")) << out;
  EXPECT_FALSE(absl::StrContains(out, "TEST_TMPDIR=")) << out;
  // The child ended on its own: the stream is closed with a reason naming the
  // partition.
  EXPECT_EQ(sink->status(), TL_E_UNAVAILABLE);
  EXPECT_TRUE(absl::StrContains(sink->message(), "partition 'partA'"))
      << sink->message();
}

// A client-wide stream: one child serves every partition that has a token,
// one URI each; a partition without a token is left out.
TEST(Pkcs11ServiceTest, OneChildServesSeveralPartitions) {
  Pkcs11Service service(StoreWithPartitions("svc", {"partA", "partB"}),
                        WithFake("args", "echo \"$@\"; exec cat"));
  auto sink = std::make_shared<RecordingSink>();
  const std::vector<std::string> parts = {"partA", "notoken", "partB"};
  absl::StatusOr<std::unique_ptr<StreamSession>> s = service.Open(parts, sink);
  ASSERT_TRUE(s.ok()) << s.status();
  const std::string want =
      "remote -p /usr/lib/softhsm/libsofthsm2.so pkcs11:token=partA "
      "pkcs11:token=partB\n";
  std::string out = sink->WaitForData(want.size());
  EXPECT_TRUE(absl::StrContains(out, want)) << out;
  // Revoking either partition ends the stream, naming the partition; a
  // partition it does not serve leaves it alone.
  EXPECT_EQ(service.ClosePartition("notoken", TL_E_PARTITION_NOT_ASSIGNED, "x"),
            0u);
  EXPECT_EQ(service.ClosePartition("partB", TL_E_PARTITION_NOT_ASSIGNED,
                                   "partition 'partB' was unassigned"),
            1u);
  ASSERT_TRUE(sink->WaitClosed());
  EXPECT_EQ(sink->status(), TL_E_PARTITION_NOT_ASSIGNED);
  s->reset();
  EXPECT_TRUE(WaitUntil([&] { return service.live_sessions() == 0; }));
}

TEST(Pkcs11ServiceTest, SeveralPartitionsWithoutTokensIsNotFound) {
  Pkcs11Service service(StoreWithPartitions("svc2", {}),
                        WithFake("cat", "exec cat"));
  auto sink = std::make_shared<RecordingSink>();
  const std::vector<std::string> parts = {"x", "y"};
  absl::StatusOr<std::unique_ptr<StreamSession>> s = service.Open(parts, sink);
  EXPECT_EQ(ToTlStatus(s.status()), TL_E_NOT_FOUND);
  EXPECT_TRUE(absl::StrContains(s.status().message(), "none of the 2"))
      << s.status();
  EXPECT_EQ(service.live_sessions(), 0u);
}

TEST(Pkcs11ServiceTest, ChildStderrIsInTheCloseMessage) {
  Pkcs11Service service(StoreWithPartitions("svc", {"partA"}),
                        WithFake("err", "echo 'module exploded' >&2; exit 3"));
  auto sink = std::make_shared<RecordingSink>();
  auto session =
      service.Open("partA", sink);  // held: dropping it means the client left
  ASSERT_TRUE(session.ok());
  ASSERT_TRUE(sink->WaitClosed());
  EXPECT_TRUE(absl::StrContains(sink->message(), "exited with status 3"))
      << sink->message();
  EXPECT_TRUE(absl::StrContains(sink->message(), "module exploded"))
      << sink->message();
}

TEST(Pkcs11ServiceTest, ClosePartitionKillsOnlyThatPartitionsStreams) {
  Pkcs11Service service(StoreWithPartitions("svc", {"partA", "partB"}),
                        WithFake("cat", "exec cat"));
  auto a = std::make_shared<RecordingSink>();
  auto b = std::make_shared<RecordingSink>();
  auto sa = service.Open("partA", a);
  auto sb = service.Open("partB", b);
  ASSERT_TRUE(sa.ok() && sb.ok());
  EXPECT_EQ(
      service.ClosePartition("partA", TL_E_PARTITION_NOT_ASSIGNED, "revoked"),
      1u);
  ASSERT_TRUE(a->WaitClosed());
  EXPECT_EQ(a->status(), TL_E_PARTITION_NOT_ASSIGNED);
  EXPECT_EQ(a->message(), "revoked");
  (*sb)->OnData("still here");
  EXPECT_EQ(b->WaitForData(10), "still here");
  EXPECT_TRUE(WaitUntil([&] { return service.live_sessions() == 1; }));
}

TEST(Pkcs11ServiceTest, UnknownPartitionIsNotFound) {
  Pkcs11Service service(StoreWithPartitions("svc", {}),
                        WithFake("cat", "exec cat"));
  auto s = service.Open("nope", std::make_shared<RecordingSink>());
  EXPECT_EQ(ToTlStatus(s.status()), TL_E_NOT_FOUND);
  EXPECT_EQ(
      ToTlStatus(
          service.Open("../etc", std::make_shared<RecordingSink>()).status()),
      TL_E_NAME_INVALID);
}

TEST(Pkcs11ServiceTest, PeerThatFloodsIsCut) {
  ServiceOptions o = WithFake("sleep", "exec sleep 600");
  o.max_pending_bytes = 1024;
  Pkcs11Service service(StoreWithPartitions("svc", {"partA"}), o);
  auto sink = std::make_shared<RecordingSink>();
  auto s = service.Open("partA", sink);
  ASSERT_TRUE(s.ok());
  // The child never reads: the pipe takes what fits (64 KiB on Linux), and
  // more than max_pending_bytes beyond that cuts the peer off.
  (*s)->OnData(std::string(256 * 1024, 'x'));
  ASSERT_TRUE(sink->WaitClosed());
  EXPECT_EQ(sink->status(), TL_E_RESOURCE_EXHAUSTED);
}

TEST(Pkcs11ServiceTest, RealP11KitEndsAtEndOfStream) {
  Pkcs11Service service(StoreWithPartitions("svc", {"partA"}));
  auto sink = std::make_shared<RecordingSink>();
  auto s = service.Open("partA", sink);
  ASSERT_TRUE(s.ok()) << s.status();
  (*s)->OnClose();
  // p11-kit remote exits at EOF well within the grace period; the session
  // thread reaps it.
  EXPECT_TRUE(WaitUntil([&] { return service.live_sessions() == 0; }));
}

TEST(Pkcs11ServiceTest, DestructorCancelsLiveStreams) {
  auto sink = std::make_shared<RecordingSink>();
  std::unique_ptr<StreamSession> session;
  {
    Pkcs11Service service(StoreWithPartitions("svc", {"partA"}),
                          WithFake("cat", "exec cat"));
    auto s = service.Open("partA", sink);
    ASSERT_TRUE(s.ok());
    session = std::move(*s);
  }
  EXPECT_TRUE(sink->WaitClosed(absl::ZeroDuration()));
  EXPECT_EQ(sink->status(), TL_E_CANCELLED);
  session->OnData("after");  // harmless
}

}  // namespace
}  // namespace trustlink::ntl::pkcs11
