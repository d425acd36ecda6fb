// The lone blocking call's busy-poll (ClientSettings::busy_poll_us,
// internal/busy_poll.h): off by default, on it takes answers without a sleep,
// and a spin never outlasts its budget.

#include "ntl/internal/busy_poll.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "ntl/client/client.h"
#include "ntl/client/testing/fake_server.h"
#include "ntl/client/testing/test_util.h"
#include "ntl/internal/timed_wait_counter.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {
namespace {

using internal::CountNewOn;
using internal::NonBlockingWaits;
using internal::SleepingPolls;
using testing::kOpEcho;
using testing::kOpHold;
using testing::Server;
using testing::Settings;
using testing::StartOneSlotServer;

absl::Time In(absl::Duration d) { return absl::Now() + d; }

absl::StatusOr<std::unique_ptr<Client>> Open(uint16_t port,
                                             uint32_t busy_poll_us) {
  ClientSettings s = Settings();
  s.servers.push_back(Server("hsm1", port));
  s.busy_poll_us = busy_poll_us;
  return Client::Create(std::move(s));
}

// Echoes runs `n` lone blocking echoes on this thread and returns the
// non-blocking polls this thread made meanwhile.
uint64_t Echoes(Client* client, int n) {
  NonBlockingWaits().Start(CountNewOn::kThisThread);
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<std::string> r =
        client->Call(0, kOpEcho, "ping", In(absl::Seconds(10)));
    EXPECT_TRUE(r.ok()) << r.status();
  }
  return NonBlockingWaits().Stop();
}

// SpinUntilAHit makes echoes until the spin finds one's answer, which leaves
// spinning on for the next call (a slow answer, such as a sanitizer's, turns
// it off); false if none of 500 was found that way.
bool SpinUntilAHit(Client* client) {
  for (int i = 0; i < 500; ++i) {
    const uint64_t hits = client->Servers()[0].busy_poll.hits;
    if (!client->Call(0, kOpEcho, "warm", In(absl::Seconds(10))).ok()) {
      return false;
    }
    if (client->Servers()[0].busy_poll.hits > hits) {
      return true;
    }
  }
  return false;
}

TEST(ClientBusyPollTest, OffByDefaultACallerNeverPollsWithoutBlocking) {
  auto server = StartOneSlotServer();
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(ClientSettings().busy_poll_us, 0u);
  auto client = Open(server->port(), ClientSettings().busy_poll_us);
  ASSERT_TRUE(client.ok()) << client.status();
  constexpr int kCalls = 100;
  const uint64_t polls = Echoes(client->get(), kCalls);
  const ServerStatus st = (*client)->Servers()[0];
  EXPECT_EQ(polls, 0u);
  EXPECT_EQ(st.busy_poll.polls, 0u);
  EXPECT_EQ(st.busy_poll.hits + st.busy_poll.misses, 0u);
  // The callers still read their own answers: only the spin is off.
  EXPECT_GE(st.caller_reads, static_cast<uint64_t>(kCalls));
}

TEST(ClientBusyPollTest, OnALoneCallsAnswerIsTakenByTheSpin) {
  auto server = StartOneSlotServer();
  ASSERT_NE(server, nullptr);
  // The largest budget, so that a loaded test machine still answers within it
  // often enough.
  auto client = Open(server->port(), internal::kMaxBusyPollMicros);
  ASSERT_TRUE(client.ok()) << client.status();
  constexpr int kCalls = 200;
  const uint64_t polls = Echoes(client->get(), kCalls);
  const ServerStatus st = (*client)->Servers()[0];
  EXPECT_GT(st.busy_poll.hits, 0u)
      << "no answer of " << kCalls << " was found by the spin (misses "
      << st.busy_poll.misses << ", polls " << st.busy_poll.polls << ")";
  EXPECT_GT(polls, 0u);
  // Every spin ended one way or the other, and no more than one per call.
  EXPECT_LE(st.busy_poll.hits + st.busy_poll.misses,
            static_cast<uint64_t>(kCalls) + 1);
  EXPECT_LE(st.busy_poll.hits + st.busy_poll.misses, st.busy_poll.polls);
}

TEST(ClientBusyPollTest, ASpinStopsAtItsBudgetAndAnIdleLinkCostsNone) {
  auto server = StartOneSlotServer();
  ASSERT_NE(server, nullptr);
  auto client = Open(server->port(), internal::kMaxBusyPollMicros);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE(SpinUntilAHit(client->get()))
      << "no answer of 500 came within the 1 ms budget";
  // An answer that never comes: one spin of at most the budget, then the
  // caller sleeps until its deadline instead of polling through it.
  const internal::BusyPollCounts before = (*client)->Servers()[0].busy_poll;
  NonBlockingWaits().Start(CountNewOn::kThisThread);
  SleepingPolls().Start(CountNewOn::kThisThread);
  absl::StatusOr<std::string> r =
      (*client)->Call(0, kOpHold, "x", In(absl::Milliseconds(300)));
  const uint64_t sleeps = SleepingPolls().Stop();
  const uint64_t polls = NonBlockingWaits().Stop();
  EXPECT_EQ(ToTlStatus(r.status()), TL_E_DEADLINE_EXCEEDED) << r.status();
  const internal::BusyPollCounts held = (*client)->Servers()[0].busy_poll;
  EXPECT_EQ(held.misses - before.misses, 1u);
  EXPECT_EQ(held.hits, before.hits);
  EXPECT_GE(sleeps, 1u) << "the caller never slept: it spun to its deadline";
  // A poll is a system call (well over 50 ns), so a 1 ms budget holds far
  // fewer than 20,000; spinning through the 300 ms deadline would make
  // millions.
  EXPECT_GT(polls, 0u);
  EXPECT_LT(polls, 20000u);
  // The miss skips the next wait: another held call does not spin at all.
  NonBlockingWaits().Start(CountNewOn::kThisThread);
  r = (*client)->Call(0, kOpHold, "y", In(absl::Milliseconds(100)));
  EXPECT_EQ(NonBlockingWaits().Stop(), 0u);
  EXPECT_EQ(ToTlStatus(r.status()), TL_E_DEADLINE_EXCEEDED) << r.status();
  EXPECT_EQ((*client)->Servers()[0].busy_poll.misses, held.misses);
}

TEST(ClientBusyPollTest, ABudgetOverTheLimitIsRefusedNamingIt) {
  auto server = StartOneSlotServer();
  ASSERT_NE(server, nullptr);
  auto client = Open(server->port(), internal::kMaxBusyPollMicros + 1);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(ToTlStatus(client.status()), TL_E_CONFIG_INVALID)
      << client.status();
  EXPECT_NE(client.status().message().find("busy-poll budget of 1001"),
            absl::string_view::npos)
      << client.status();
  EXPECT_NE(client.status().message().find("limit of 1000"),
            absl::string_view::npos)
      << client.status();
}

}  // namespace
}  // namespace trustlink::ntl::client
