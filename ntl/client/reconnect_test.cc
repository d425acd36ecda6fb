// The client's reconnect schedule on real sockets (docs/client.md,
// "Reconnecting"): a server restarting on its port refuses each attempt, and
// the link comes back on a short step instead of one grown to seconds.

#include <algorithm>
#include <set>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "ntl/client/client.h"
#include "ntl/client/testing/fake_server.h"
#include "ntl/client/testing/test_util.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {
namespace {

using testing::FakeServer;
using testing::Server;
using testing::ServerOptions;
using testing::Settings;
using testing::WaitFor;

std::unique_ptr<FakeServer> StartServer(uint16_t port = 0) {
  testing::FakeServerOptions o = ServerOptions();
  o.slots = {{"p1", "l", "s"}};
  absl::StatusOr<std::unique_ptr<FakeServer>> s =
      FakeServer::Start(std::move(o), port);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

// Before, the step doubled on every refusal: 4 s into a restart the client
// waited 0.8-3.2 s between attempts and came back up to 3.2 s after the
// server listened again.
TEST(ReconnectTest,
     ARefusingServerSoonAfterTheLinkWasUpIsRetriedEveryHalfSecond) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  const uint16_t port = server->port();
  ClientSettings s = Settings();
  s.reconnect_min = absl::Milliseconds(100);  // the library's defaults
  s.reconnect_max = absl::Seconds(30);
  s.servers.push_back(Server("hsm1", port));
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(s);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE(WaitFor(
      [&]() { return (*client)->Servers()[0].state == LinkState::kReady; }));

  server.reset();  // the port refuses, as while ntlsd restarts
  // Watch the schedule for 6 s: each attempt the port refused, and when the
  // next one is due.
  std::set<absl::Time> attempts;
  absl::Duration longest_wait;
  const absl::Time end = absl::Now() + absl::Seconds(6);
  while (absl::Now() < end) {
    const ServerStatus st = (*client)->Servers()[0];
    const absl::Time now = absl::Now();
    if (st.state == LinkState::kBackoff &&
        ToTlStatus(st.last_error) == TL_E_CONNECTION_REFUSED &&
        st.retry_at > now) {
      attempts.insert(st.retry_at);
      longest_wait = std::max(longest_wait, st.retry_at - now);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_LE(longest_wait, absl::Milliseconds(500));
  // At most 0.1 + 0.2 + 0.4 + 0.5 s a step: 13 in 6 s (doubling to 30 s, as
  // before: at most 6). 9 leaves room for a sampling thread or an I/O thread
  // stalled past a window or two under a sanitizer.
  EXPECT_GE(attempts.size(), 9u);

  server = StartServer(port);
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(WaitFor(
      [&]() { return (*client)->Servers()[0].state == LinkState::kReady; }));
}

}  // namespace
}  // namespace trustlink::ntl::client
