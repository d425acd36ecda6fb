#include "ntl/pkcs11/local_transport.h"

#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ntl/internal/mutex.h"
#include "ntl/pkcs11/test_util.h"
#include "ntl/status.h"

namespace trustlink::ntl::pkcs11 {
namespace {

// Received collects a channel's callbacks.
struct Received {
  internal::Mutex mu;
  std::string data ABSL_GUARDED_BY(mu);
  bool closed ABSL_GUARDED_BY(mu) = false;
  absl::Status status ABSL_GUARDED_BY(mu);

  ChannelCallbacks Callbacks() {
    return {[this](absl::string_view d) {
              internal::MutexLock lock(&mu);
              data.append(d.data(), d.size());
            },
            [this](const absl::Status& s) {
              internal::MutexLock lock(&mu);
              closed = true;
              status = s;
            }};
  }
  std::string Data() {
    internal::MutexLock lock(&mu);
    return data;
  }
  bool Closed() {
    internal::MutexLock lock(&mu);
    return closed;
  }
  absl::Status Status() {
    internal::MutexLock lock(&mu);
    return status;
  }
};

// A socket path longer than sun_path, to exercise the /proc/self/fd route.
std::string LongSocketPath() {
  std::string dir =
      absl::StrCat(getenv("TEST_TMPDIR"), "/", std::string(100, 'd'));
  mkdir(dir.c_str(), 0700);
  return dir + "/ntl.sock";
}

TEST(LocalTransportTest, StreamsThroughTheServiceAndEnforcesAssignment) {
  ServiceOptions o;
  o.p11_kit = testing::FakeP11Kit("cat", "exec cat");
  Pkcs11Service service(testing::StoreWithPartitions("lt", {"partA", "partB"}),
                        o);
  std::string path = LongSocketPath();
  auto server =
      LocalStreamServer::Start(path, &service, [](absl::string_view p) {
        return p == "partA"
                   ? absl::OkStatus()
                   : Error(absl::StatusCode::kPermissionDenied,
                           TL_E_PARTITION_NOT_ASSIGNED, "not assigned");
      });
  ASSERT_TRUE(server.ok()) << server.status();

  Received a;
  auto ch = OpenLocalChannel(path, "partA", a.Callbacks());
  ASSERT_TRUE(ch.ok()) << ch.status();
  ASSERT_TRUE((*ch)->Send("ping over the stand-in link").ok());
  ASSERT_TRUE(testing::WaitUntil([&] { return a.Data().size() == 27; }));
  EXPECT_EQ(a.Data(), "ping over the stand-in link");

  // Revocation reaches the client as the stream's close status.
  service.ClosePartition("partA", TL_E_PARTITION_NOT_ASSIGNED,
                         "partition 'partA' revoked");
  ASSERT_TRUE(testing::WaitUntil([&] { return a.Closed(); }));
  EXPECT_EQ(ToTlStatus(a.Status()), TL_E_PARTITION_NOT_ASSIGNED);
  EXPECT_TRUE(absl::StrContains(a.Status().message(), "revoked"));
  (*ch)->Close().IgnoreError();

  Received b;
  auto chb = OpenLocalChannel(path, "partB", b.Callbacks());
  ASSERT_TRUE(chb.ok());
  ASSERT_TRUE(testing::WaitUntil([&] { return b.Closed(); }));
  EXPECT_EQ(ToTlStatus(b.Status()), TL_E_PARTITION_NOT_ASSIGNED);
  (*chb)->Close().IgnoreError();
  EXPECT_TRUE(testing::WaitUntil([&] { return service.live_sessions() == 0; }));
}

TEST(LocalTransportTest, NoServerIsConnectionRefused) {
  Received r;
  auto ch = OpenLocalChannel(absl::StrCat(getenv("TEST_TMPDIR"), "/none.sock"),
                             "partA", r.Callbacks());
  EXPECT_EQ(ToTlStatus(ch.status()), TL_E_CONNECTION_REFUSED);
}

}  // namespace
}  // namespace trustlink::ntl::pkcs11
