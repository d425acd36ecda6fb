// FramedSession::Connect over real TLS on loopback: a name goes through the
// settings' resolver, every address is tried within the one deadline, and a
// failure names each attempt.

#include "ntl/client/framed_session.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ntl/client/testing/fake_server.h"
#include "ntl/client/testing/test_util.h"
#include "ntl/client/tls_context.h"
#include "ntl/internal/mutex.h"
#include "ntl/internal/silent_dns_server.h"
#include "ntl/status.h"
#include "ntl/tls/policy.h"

namespace trustlink::ntl::client {
namespace {

using testing::FakeServer;
using testing::Server;
using testing::ServerOptions;
using testing::Settings;
using testing::TestResolver;

std::unique_ptr<FakeServer> StartServer() {
  absl::StatusOr<std::unique_ptr<FakeServer>> s =
      FakeServer::Start(ServerOptions());
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

// BlackHole listens on `ip`:`port` with its accept queue full and never
// accepts, so the kernel drops every further SYN: a connect there neither
// succeeds nor fails until the caller gives up, like a dead route, and no
// sleep is needed to make it so.
class BlackHole {
 public:
  static std::unique_ptr<BlackHole> Open(const std::string& ip, uint16_t port) {
    std::unique_ptr<BlackHole> b(new BlackHole());
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    if (inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1) {
      return nullptr;
    }
    b->listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    // Backlog 0: the queue is full once one connection waits in it.
    if (bind(b->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
            0 ||
        listen(b->listen_fd_, 0) != 0) {
      ADD_FAILURE() << "black hole on " << ip << ":" << port << ": "
                    << strerror(errno);
      return nullptr;
    }
    for (int i = 0; i < 8 && !b->Full(); ++i) {
      const int fd =
          socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      b->fillers_.push_back(fd);
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
      // A loopback handshake into a queue with room completes at once; the
      // bound only keeps a surprise from hanging the test.
      pollfd p{fd, POLLOUT, 0};
      poll(&p, 1, 5000);
    }
    if (!b->Full()) {
      ADD_FAILURE() << "could not fill the accept queue of " << ip << ":"
                    << port;
      return nullptr;
    }
    return b;
  }
  ~BlackHole() {
    for (int fd : fillers_) {
      close(fd);
    }
    if (listen_fd_ >= 0) {
      close(listen_fd_);
    }
  }

 private:
  BlackHole() = default;
  // Full reads the listener's queue: for a listening socket Linux reports the
  // queued connections as tcpi_unacked and the backlog as tcpi_sacked, and
  // drops SYNs once the first exceeds the second.
  bool Full() const {
    tcp_info info{};
    socklen_t len = sizeof(info);
    return getsockopt(listen_fd_, IPPROTO_TCP, TCP_INFO, &info, &len) == 0 &&
           info.tcpi_unacked > info.tcpi_sacked;
  }

  int listen_fd_ = -1;
  std::vector<int> fillers_;
};

ServerSettings NamedServer(uint16_t port) {
  ServerSettings s = Server("hsm1", port);
  s.host = "hsm1.test";
  return s;
}

absl::StatusOr<std::unique_ptr<FramedSession>> Connect(
    const ServerSettings& server, const ClientSettings& settings,
    absl::Time deadline) {
  absl::StatusOr<bssl::UniquePtr<SSL_CTX>> ctx =
      MakeClientContext(settings, tls::kAlpnNtl);
  if (!ctx.ok()) {
    return ctx.status();
  }
  return FramedSession::Connect(ctx->get(), server, settings, deadline);
}

TEST(FramedSessionTest, ANameWhoseFirstAddressRefusesOpensViaTheSecond) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  // Nothing listens on 127.0.0.2: the server binds 127.0.0.1 only.
  auto resolver = TestResolver::Answering({"127.0.0.2", "127.0.0.1"});
  ClientSettings settings = Settings();
  settings.resolver = TestResolver::Of(resolver);
  absl::StatusOr<std::unique_ptr<FramedSession>> s = Connect(
      NamedServer(server->port()), settings, absl::Now() + absl::Seconds(10));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_NE((*s)->ssl(), nullptr);
  EXPECT_EQ(resolver->Asked(), std::vector<std::string>{"hsm1.test"});
}

TEST(FramedSessionTest, AnIpLiteralNeverReachesTheResolver) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  auto resolver = TestResolver::Answering({"127.0.0.2"});
  ClientSettings settings = Settings();
  settings.resolver = TestResolver::Of(resolver);
  absl::StatusOr<std::unique_ptr<FramedSession>> s =
      Connect(Server("hsm1", server->port()), settings,
              absl::Now() + absl::Seconds(10));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(resolver->Asked().empty());
}

TEST(FramedSessionTest, WhenEveryAddressRefusesTheErrorNamesEachAttempt) {
  auto server = StartServer();  // for a free port that then refuses
  ASSERT_NE(server, nullptr);
  const uint16_t port = server->port();
  server.reset();
  ClientSettings settings = Settings();
  settings.resolver =
      TestResolver::Of(TestResolver::Answering({"127.0.0.2", "127.0.0.1"}));
  absl::StatusOr<std::unique_ptr<FramedSession>> s =
      Connect(NamedServer(port), settings, absl::Now() + absl::Seconds(10));
  ASSERT_FALSE(s.ok());
  const absl::Status err = s.status();
  EXPECT_EQ(ToTlStatus(err), TL_E_CONNECTION_REFUSED) << err;
  for (const std::string& want :
       {std::string("'hsm1'"), absl::StrCat("hsm1.test:", port),
        absl::StrCat("127.0.0.2:", port), absl::StrCat("127.0.0.1:", port)}) {
    EXPECT_NE(err.message().find(want), absl::string_view::npos)
        << "no " << want << " in " << err;
  }
}

TEST(FramedSessionTest, ABlackHoledFirstAddressLeavesTimeForTheSecond) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  std::unique_ptr<BlackHole> hole =
      BlackHole::Open("127.0.0.3", server->port());
  ASSERT_NE(hole, nullptr);
  ClientSettings settings = Settings();
  settings.resolver =
      TestResolver::Of(TestResolver::Answering({"127.0.0.3", "127.0.0.1"}));
  const absl::Duration timeout = absl::Seconds(4);
  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<FramedSession>> s =
      Connect(NamedServer(server->port()), settings, start + timeout);
  ASSERT_TRUE(s.ok()) << s.status();
  // The black hole had its half of the time, no more.
  EXPECT_LT(absl::Now() - start, timeout);
}

TEST(FramedSessionTest, WhenEveryAddressIsBlackHoledTheDeadlineHolds) {
  auto server = StartServer();  // only for a port; it listens elsewhere
  ASSERT_NE(server, nullptr);
  const uint16_t port = server->port();
  std::unique_ptr<BlackHole> first = BlackHole::Open("127.0.0.3", port);
  std::unique_ptr<BlackHole> second = BlackHole::Open("127.0.0.4", port);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  ClientSettings settings = Settings();
  settings.resolver =
      TestResolver::Of(TestResolver::Answering({"127.0.0.3", "127.0.0.4"}));
  const absl::Duration timeout = absl::Milliseconds(600);
  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<FramedSession>> s =
      Connect(NamedServer(port), settings, start + timeout);
  const absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(s.ok());
  const absl::Status err = s.status();
  EXPECT_EQ(ToTlStatus(err), TL_E_DEADLINE_EXCEEDED) << err;
  EXPECT_GE(took, timeout);
  // Slack for a loaded machine; without a deadline this would take minutes.
  EXPECT_LT(took, timeout + absl::Seconds(3));
  for (const std::string& want :
       {std::string("TCP connect"), absl::StrCat("127.0.0.3:", port),
        absl::StrCat("127.0.0.4:", port), std::string("no answer")}) {
    EXPECT_NE(err.message().find(want), absl::string_view::npos)
        << "no " << want << " in " << err;
  }
}

TEST(FramedSessionTest, AnUnansweredLookupIsAbandonedAtTheDeadline) {
  internal::SilentDnsServer silent;
  ClientSettings settings = Settings();
  settings.dns_servers = silent.servers();
  const absl::Duration timeout = absl::Milliseconds(300);
  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<FramedSession>> s =
      Connect(NamedServer(1), settings, start + timeout);
  const absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(ToTlStatus(s.status()), TL_E_DEADLINE_EXCEEDED) << s.status();
  EXPECT_NE(s.status().message().find("name resolution"),
            absl::string_view::npos)
      << s.status();
  EXPECT_GE(took, timeout);
  EXPECT_LT(took, timeout + absl::Seconds(3));
  EXPECT_TRUE(silent.AwaitQuery()) << "the lookup never asked the server";
}

TEST(FramedSessionTest, AResolverFailureNamesTheHost) {
  ClientSettings settings = Settings();
  settings.resolver =
      [](const std::string&) -> absl::StatusOr<std::vector<std::string>> {
    return absl::UnavailableError("no such host");
  };
  absl::StatusOr<std::unique_ptr<FramedSession>> s =
      Connect(NamedServer(1), settings, absl::Now() + absl::Seconds(10));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(ToTlStatus(s.status()), TL_E_UNAVAILABLE) << s.status();
  EXPECT_NE(s.status().message().find("hsm1.test"), absl::string_view::npos)
      << s.status();
  EXPECT_NE(s.status().message().find("no such host"), absl::string_view::npos)
      << s.status();
}

}  // namespace
}  // namespace trustlink::ntl::client
