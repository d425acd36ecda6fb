// Link settings changed while the server runs (directory.h, LinkSettings):
// keep-alive reaches new links, the receive timeout reaches open links too.
#include "ntl/server/link_settings.h"

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "ntl/server/directory.h"
#include "ntl/server/server.h"
#include "ntl/server/server_fixture.h"
#include "ntl/server/software_partition.h"
#include "ntl/server/test_client.h"
#include "ntl/wire/frame.h"

namespace trustlink::ntl::server {
namespace {

using testing::ClientIdentity;
using testing::ClientOptions;
using testing::FixtureServerCredentials;
using testing::LoadClientIdentity;
using testing::LogLines;
using testing::TestClient;

// Port is the local (`peer` false) or remote port of socket `fd`, or 0.
uint16_t Port(int fd, bool peer) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  auto* sa = reinterpret_cast<sockaddr*>(&ss);
  if ((peer ? getpeername(fd, sa, &len) : getsockname(fd, sa, &len)) != 0) {
    return 0;
  }
  return ss.ss_family == AF_INET
             ? ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port)
             : ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

// ServerSideKeepIdle finds, among this process's descriptors, the server's
// end of the link whose client end is `client_fd` (the server runs in this
// process) and returns its TCP_KEEPIDLE, or -1 if keep-alive is off, or -2
// if there is no such socket.
int ServerSideKeepIdle(uint16_t server_port, int client_fd) {
  const uint16_t client_port = Port(client_fd, false);
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return -2;
  int found = -2;
  while (dirent* e = readdir(d)) {
    const int fd = std::atoi(e->d_name);
    if (fd <= 2 || fd == client_fd || fd == dirfd(d)) continue;
    if (Port(fd, false) != server_port || Port(fd, true) != client_port) {
      continue;
    }
    int on = 0, idle = 0;
    socklen_t len = sizeof(int);
    getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, &len);
    len = sizeof(int);
    getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, &len);
    found = on ? idle : -1;
  }
  closedir(d);
  return found;
}

class LinkSettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_ = LoadClientIdentity("client_ed25519");
    directory_ = std::make_shared<InMemoryDirectory>();
    directory_->Put(testing::LoopbackRecord("web1", client_.fingerprint));
    auto cred = FixtureServerCredentials();
    ASSERT_TRUE(cred.ok()) << cred.status();
    auto s = Server::Create(
        testing::OneLoopOptions([this](absl::string_view l) { log_.Add(l); }),
        directory_, *cred);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    server_->SetPartitionHandler(std::make_shared<SoftwarePartitionHandler>());
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override { server_->Shutdown(absl::Seconds(2)); }

  std::unique_ptr<TestClient> Admitted() {
    auto c = TestClient::Connect(server_->port(), ClientOptions(client_));
    EXPECT_TRUE(c.ok()) << c.status();
    if (!c.ok()) return nullptr;
    auto w = (*c)->Hello();
    EXPECT_TRUE(w.ok()) << w.status();
    if (!w.ok()) return nullptr;
    return std::move(*c);
  }

  ClientIdentity client_;
  std::shared_ptr<InMemoryDirectory> directory_;
  std::unique_ptr<Server> server_;
  LogLines log_;
};

TEST_F(LinkSettingsTest, KeepAliveChangeReachesTheNextLink) {
  auto first = Admitted();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(ServerSideKeepIdle(server_->port(), first->fd()), 60);
  LinkSettings l;
  l.keepalive_idle_seconds = 33;
  l.keepalive_interval_seconds = 4;
  l.keepalive_count = 2;
  directory_->SetLinkSettings(l);
  auto second = Admitted();
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(ServerSideKeepIdle(server_->port(), second->fd()), 33);
  l.tcp_keepalive = false;
  directory_->SetLinkSettings(l);
  auto third = Admitted();
  ASSERT_NE(third, nullptr);
  EXPECT_EQ(ServerSideKeepIdle(server_->port(), third->fd()), -1);
}

TEST_F(LinkSettingsTest, ReceiveTimeoutClosesAnIdleOpenLink) {
  // The server counts silence from the last frame it received, the hello inside
  // Admitted(); so the close comes no earlier than 400 ms after this.
  const absl::Time start = absl::Now();
  auto c = Admitted();
  ASSERT_NE(c, nullptr);
  // Set after the link was admitted: the timeout reaches open links.
  LinkSettings l;
  l.receive_timeout = absl::Milliseconds(400);
  directory_->SetLinkSettings(l);
  auto f = c->Read();  // the test client's read waits up to its own timeout
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->type, wire::FrameType::kGoAway);
  EXPECT_FALSE(c->Read().ok());  // then the link closes
  const absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Milliseconds(400));
  EXPECT_LT(took, absl::Seconds(3));
  EXPECT_TRUE(
      log_.Contains("rule=receive-timeout", "nothing received for 400ms"))
      << "no log line";
}

TEST_F(LinkSettingsTest, PingsKeepALinkUnderTheReceiveTimeoutOpen) {
  LinkSettings l;
  // The timeout is ten of the gaps under test, so that a stall of this thread
  // under a sanitizer on a busy host does not close the link; the pings run for
  // over twice it.
  l.receive_timeout = absl::Seconds(2);
  directory_->SetLinkSettings(l);
  auto c = Admitted();
  ASSERT_NE(c, nullptr);
  const absl::Time end = absl::Now() + absl::Milliseconds(4500);
  while (absl::Now() < end) {
    ASSERT_TRUE(c->Send(wire::FrameType::kPing, 0, "hb").ok());
    auto f = c->Read();
    ASSERT_TRUE(f.ok()) << f.status();
    ASSERT_EQ(f->type, wire::FrameType::kPong);
    absl::SleepFor(absl::Milliseconds(200));  // the idle gap under test
  }
  EXPECT_EQ(server_->GetStatus().connections, 1);
}

TEST(IdleLimitTest, ReceiveTimeoutForApplicationLinksOnly) {
  LinkSettings l;
  l.receive_timeout = absl::Seconds(20);
  absl::string_view rule;
  EXPECT_EQ(IdleLimit(l, absl::Minutes(10), false, &rule), absl::Seconds(20));
  EXPECT_EQ(rule, "receive-timeout");
  // The HTL agent speaks once per polling interval, which may be longer.
  EXPECT_EQ(IdleLimit(l, absl::Minutes(10), true, &rule), absl::Minutes(10));
  EXPECT_EQ(rule, "idle-timeout");
  // The server's idle timeout caps the receive timeout.
  EXPECT_EQ(IdleLimit(l, absl::Seconds(5), false, &rule), absl::Seconds(5));
  EXPECT_EQ(rule, "idle-timeout");
  l.receive_timeout = absl::InfiniteDuration();
  EXPECT_EQ(IdleLimit(l, absl::Minutes(10), false, &rule), absl::Minutes(10));
}

}  // namespace
}  // namespace trustlink::ntl::server
