// The client's name lookups run on its own loop (c-ares) and end with it: a
// lookup that never gets an answer neither blocks tl_client_process-style
// callers nor holds up the close, and no thread is left behind.
#include <memory>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "ntl/client/client.h"
#include "ntl/client/testing/test_util.h"
#include "ntl/internal/silent_dns_server.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {
namespace {

using testing::Server;
using testing::Settings;
using testing::SettledThreadCount;

// A client of one server named `never-answered.test`, looked up through
// `silent` only.
ClientSettings Unanswered(const internal::SilentDnsServer& silent,
                          bool io_thread) {
  ClientSettings s = Settings();
  s.servers.push_back(Server("hsm1", 1792));
  s.servers[0].host = "never-answered.test";
  s.dns_servers = silent.servers();
  s.use_io_thread = io_thread;
  s.connect_timeout = absl::Seconds(30);
  s.initial_wait = absl::Milliseconds(50);
  return s;
}

TEST(ClientDnsTest, ClosingWithALookupPendingReturnsAtOnceAndLeavesNoThread) {
  internal::SilentDnsServer silent;
  const int threads_before = testing::BaselineThreadCount();
  absl::StatusOr<std::unique_ptr<Client>> client =
      Client::Create(Unanswered(silent, true));
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE(silent.AwaitQuery()) << "the lookup never reached the server";
  EXPECT_EQ((*client)->Servers()[0].state, LinkState::kConnecting);
  const absl::Time start = absl::Now();
  client->reset();
  const absl::Duration took = absl::Now() - start;
  // c-ares waits seconds for a silent server: a close that waited for it takes
  // that long; the bound leaves room for a stalled thread under a sanitizer.
  EXPECT_LT(took, absl::Milliseconds(1500)) << "close waited for the lookup";
  EXPECT_EQ(SettledThreadCount(threads_before), threads_before);
  ::testing::Test::RecordProperty("close_ms", absl::ToInt64Milliseconds(took));
}

TEST(ClientDnsTest, WithoutThreadsProcessNeverWaitsForALookup) {
  internal::SilentDnsServer silent;
  const int threads_before = testing::BaselineThreadCount();
  absl::StatusOr<std::unique_ptr<Client>> client =
      Client::Create(Unanswered(silent, false));
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ(SettledThreadCount(threads_before), threads_before)
      << "a no-threads client made one";
  // The first Process starts the lookup; none of them waits for its answer.
  for (int i = 0; i < 20; ++i) {
    const absl::Time start = absl::Now();
    ASSERT_TRUE((*client)->Process(absl::ZeroDuration()).ok());
    EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  }
  ASSERT_TRUE(silent.AwaitQuery()) << "the lookup never reached the server";
  EXPECT_EQ((*client)->Servers()[0].state, LinkState::kConnecting);
  EXPECT_EQ(SettledThreadCount(threads_before), threads_before);
  const absl::Time start = absl::Now();
  client->reset();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1500));
}

TEST(ClientDnsTest, AnUnansweredLookupFailsAtTheConnectDeadlineNamingIt) {
  internal::SilentDnsServer silent;
  ClientSettings s = Unanswered(silent, true);
  s.connect_timeout = absl::Milliseconds(300);
  s.reconnect = false;
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(s);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE(testing::WaitFor(
      [&]() { return (*client)->Servers()[0].state == LinkState::kStopped; }));
  const absl::Status err = (*client)->Servers()[0].last_error;
  EXPECT_EQ(ToTlStatus(err), TL_E_DEADLINE_EXCEEDED) << err;
  EXPECT_NE(err.message().find("name resolution"), absl::string_view::npos)
      << err;
}

}  // namespace
}  // namespace trustlink::ntl::client
