#include "ntl/client/verify.h"

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gtest/gtest.h"
#include "ntl/client/testing/fake_server.h"
#include "ntl/client/testing/test_util.h"

namespace trustlink::ntl::client {
namespace {

using testing::FakeServer;
using testing::FakeServerOptions;
using testing::Server;
using testing::ServerOptions;
using testing::Settings;

std::unique_ptr<FakeServer> Start(FakeServerOptions o) {
  absl::StatusOr<std::unique_ptr<FakeServer>> s =
      FakeServer::Start(std::move(o));
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

// A port with nothing listening: bind one, read its number, close it.
uint16_t ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

TEST(VerifyTest, ReportsEveryOutcomePerServer) {
  FakeServerOptions ok = ServerOptions();
  ok.slots = {{"p1", "label", "serial"}};
  auto s_ok = Start(ok);
  FakeServerOptions empty = ServerOptions();
  auto s_empty = Start(empty);
  FakeServerOptions unregistered = ServerOptions();
  unregistered.admission_alert = SSL_AD_CERTIFICATE_UNKNOWN;
  auto s_unreg = Start(unregistered);
  FakeServerOptions wrong_ip = ServerOptions();
  wrong_ip.admission_alert = SSL_AD_ACCESS_DENIED;
  auto s_ip = Start(wrong_ip);
  FakeServerOptions htl = ServerOptions();
  htl.goaway_status = TL_E_HTL_REQUIRED_BY_APPLIANCE;
  htl.goaway_message =
      "the appliance requires HTL for this client; start htlclient";
  auto s_htl = Start(htl);
  auto s_pin = Start(ServerOptions("server_p256"));

  ClientSettings s = Settings();
  s.servers.push_back(Server("ok", s_ok->port()));
  s.servers.push_back(Server("empty", s_empty->port()));
  s.servers.push_back(Server("unreg", s_unreg->port()));
  s.servers.push_back(Server("wrongip", s_ip->port()));
  s.servers.push_back(Server("htl", s_htl->port()));
  s.servers.push_back(Server("pin", s_pin->port()));
  s.servers.push_back(Server("refused", ClosedPort()));
  s.servers.push_back(Server("untrusted", s_ok->port()));
  s.servers.back().pinned_cert_der.clear();

  absl::StatusOr<std::vector<VerifyResult>> r = Verify(s, absl::Seconds(10));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 8u);
  const auto& v = *r;
  EXPECT_EQ(v[0].server, "ok");
  EXPECT_EQ(v[0].code, TL_OK) << v[0].message;
  ASSERT_EQ(v[0].slots.size(), 1u);
  EXPECT_EQ(v[0].slots[0].partition, "p1");
  EXPECT_EQ(v[1].code, TL_E_NO_PARTITIONS) << v[1].message;
  EXPECT_EQ(v[2].code, TL_E_NOT_REGISTERED) << v[2].message;
  EXPECT_NE(v[2].message.find("not registered"), std::string::npos);
  EXPECT_EQ(v[3].code, TL_E_IP_MISMATCH) << v[3].message;
  EXPECT_EQ(v[4].code, TL_E_HTL_REQUIRED_BY_APPLIANCE) << v[4].message;
  EXPECT_NE(v[4].message.find("htlclient"), std::string::npos);
  EXPECT_EQ(v[5].code, TL_E_CERT_PIN_MISMATCH) << v[5].message;
  EXPECT_EQ(v[6].code, TL_E_CONNECTION_REFUSED) << v[6].message;
  EXPECT_EQ(v[7].code, TL_E_TRUST_STORE_INCONSISTENT) << v[7].message;
  EXPECT_EQ(s_ok->accepted(),
            1);  // "untrusted" shares its port and was never contacted
}

TEST(VerifyTest, SilentListenerTimesOut) {
  // A listener that never accepts: the TCP connect completes (backlog), TLS
  // never does.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ClientSettings s = Settings();
  s.servers.push_back(Server("silent", ntohs(addr.sin_port)));
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<VerifyResult>> r =
      Verify(s, absl::Milliseconds(300));
  close(fd);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].code, TL_E_DEADLINE_EXCEEDED) << (*r)[0].message;
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

}  // namespace
}  // namespace trustlink::ntl::client
