// The NTLS loop's busy-poll (ServerOptions::busy_poll_us,
// internal/busy_poll.h): off by default; on, a wait that follows traffic
// polls the epoll set without blocking first, finds the next request that
// way, and gives up after its budget when none comes.
#include "ntl/internal/busy_poll.h"

#include <cstdio>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "ntl/internal/timed_wait_counter.h"
#include "ntl/server/server.h"
#include "ntl/server/server_fixture.h"
#include "ntl/server/software_partition.h"
#include "ntl/server/test_client.h"
#include "ntl/status.h"
#include "ntl/wire/messages.h"

namespace trustlink::ntl::server {
namespace {

using internal::CountNewOn;
using internal::NonBlockingWaits;
using testing::ClientOptions;
using testing::LoadClientIdentity;
using testing::TestClient;

// Spinning is one server with the software partition (busy-poll budget as
// given) and one client that said hello.
struct Spinning {
  std::unique_ptr<Server> server;
  std::unique_ptr<TestClient> client;
  uint32_t next = 1;

  ~Spinning() {
    if (server != nullptr) {
      server->Shutdown(absl::Seconds(2));
    }
  }

  // RoundTrips makes `n` echoes one at a time; false (with a test failure)
  // on a missing or wrong answer.
  bool RoundTrips(int n) {
    for (int i = 0; i < n; ++i, ++next) {
      std::string out;
      wire::AppendRequestFrame(next, "p1", kOpEcho, "ping", &out);
      if (!client->SendRaw(out).ok()) {
        ADD_FAILURE() << "send failed";
        return false;
      }
      auto f = client->Read();
      if (!f.ok() || f->id != next) {
        ADD_FAILURE() << "round trip " << i << ": "
                      << (f.ok() ? "wrong answer id" : f.status().ToString());
        return false;
      }
    }
    return true;
  }

  // LoopPolls makes `n` round trips and returns the non-blocking polls the
  // loop made meanwhile; -1 (with a test failure) on a wrong answer.
  int64_t LoopPolls(int n) {
    NonBlockingWaits().Start(CountNewOn::kLoopThreads);
    const bool ok = RoundTrips(n);
    const uint64_t polls = NonBlockingWaits().Stop();
    return ok ? static_cast<int64_t>(polls) : -1;
  }
};

std::unique_ptr<Spinning> Start(uint32_t busy_poll_us) {
  auto s = std::make_unique<Spinning>();
  const auto id = LoadClientIdentity("client_ed25519");
  ServerOptions o = testing::OneLoopOptions([](absl::string_view) {});
  o.busy_poll_us = busy_poll_us;
  auto server = testing::StartSoftwareServer(id, "spin", std::move(o));
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) {
    return nullptr;
  }
  s->server = std::move(*server);
  auto c = TestClient::Connect(s->server->port(), ClientOptions(id));
  EXPECT_TRUE(c.ok()) << c.status();
  if (!c.ok()) {
    return nullptr;
  }
  s->client = std::move(*c);
  EXPECT_TRUE(s->client->Hello().ok());
  return s;
}

TEST(ServerBusyPollTest, OffByDefaultTheLoopNeverPollsWithoutBlocking) {
  EXPECT_EQ(ServerOptions().busy_poll_us, 0u);
  auto s = Start(ServerOptions().busy_poll_us);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->LoopPolls(200), 0);
  const internal::BusyPollCounts c = s->server->busy_poll();
  EXPECT_EQ(c.polls + c.hits + c.misses, 0u);
}

TEST(ServerBusyPollTest, OnTheLoopFindsTheNextRequestBySpinning) {
  // The largest budget, so that a loaded test machine's client still sends
  // its next request within it often enough.
  auto s = Start(internal::kMaxBusyPollMicros);
  ASSERT_NE(s, nullptr);
  constexpr int kCalls = 200;
  EXPECT_GT(s->LoopPolls(kCalls), 0);
  const internal::BusyPollCounts c = s->server->busy_poll();
  std::printf(
      "loop busy-poll over %d round trips: %llu hits, %llu misses, "
      "%llu polls\n",
      kCalls, static_cast<unsigned long long>(c.hits),
      static_cast<unsigned long long>(c.misses),
      static_cast<unsigned long long>(c.polls));
  EXPECT_GT(c.hits, 0u) << "no request was found by the spin";
  EXPECT_LE(c.hits + c.misses, c.polls);
}

TEST(ServerBusyPollTest, WhenTrafficStopsTheSpinEndsAtItsBudget) {
  auto s = Start(internal::kMaxBusyPollMicros);
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->RoundTrips(20));
  // No next request: the spin after the last answer runs out its budget and
  // the loop sleeps. Counted, not timed: a poll is a system call (well over
  // 50 ns), so a 1 ms budget holds far fewer than 20,000; a loop that spun
  // on would pass that in milliseconds.
  NonBlockingWaits().Start(CountNewOn::kLoopThreads);
  const bool missed = testing::WaitFor(
      [&]() { return s->server->busy_poll().misses >= 1; }, absl::Seconds(10));
  const uint64_t polls = NonBlockingWaits().Stop();
  EXPECT_TRUE(missed) << "the loop's spin never gave up";
  EXPECT_LT(polls, 20000u);
  // The miss skips the next wait's spin; round trips go on as before.
  ASSERT_TRUE(s->RoundTrips(5));
}

TEST(ServerBusyPollTest, ABudgetOverTheLimitIsRefusedNamingIt) {
  const auto id = LoadClientIdentity("client_ed25519");
  ServerOptions o = testing::OneLoopOptions([](absl::string_view) {});
  o.busy_poll_us = internal::kMaxBusyPollMicros + 1;
  auto server = testing::StartSoftwareServer(id, "spin", std::move(o));
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(ToTlStatus(server.status()), TL_E_INVALID_ARGUMENT)
      << server.status();
  EXPECT_NE(server.status().message().find("busy-poll budget of 1001"),
            absl::string_view::npos)
      << server.status();
  EXPECT_NE(server.status().message().find("limit of 1000"),
            absl::string_view::npos)
      << server.status();
}

}  // namespace
}  // namespace trustlink::ntl::server
