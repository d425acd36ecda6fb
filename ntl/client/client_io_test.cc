// The client's I/O path over real TLS on loopback: calls issued together leave
// in few TLS writes and all come back right; names are resolved off the I/O
// thread and every address is tried.

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ntl/client/client.h"
#include "ntl/client/testing/fake_server.h"
#include "ntl/client/testing/test_util.h"
#include "ntl/internal/mutex.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {
namespace {

using testing::FakeServer;
using testing::kOpEcho;
using testing::kOpHold;
using testing::Server;
using testing::ServerOptions;
using testing::Settings;
using testing::StartOneSlotServer;
using testing::TestResolver;
using testing::WaitFor;

std::unique_ptr<Client> Open(ClientSettings settings) {
  absl::StatusOr<std::unique_ptr<Client>> c =
      Client::Create(std::move(settings));
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(*c) : nullptr;
}

absl::Time In(absl::Duration d) { return absl::Now() + d; }

// Tally counts async answers and checks each against the data it was sent.
struct Tally {
  internal::Mutex mu;
  int delivered ABSL_GUARDED_BY(mu) = 0;
  int correct ABSL_GUARDED_BY(mu) = 0;

  CallCallback Expect(std::string data) {
    return [this, data = std::move(data)](absl::StatusOr<std::string> r) {
      internal::MutexLock l(&mu);
      ++delivered;
      if (r.ok() && *r == data) {
        ++correct;
      }
    };
  }
  int Delivered() {
    internal::MutexLock l(&mu);
    return delivered;
  }
  int Correct() {
    internal::MutexLock l(&mu);
    return correct;
  }
};

TEST(ClientIoTest, PipelinedAsyncCallsFromOneThreadAllComplete) {
  auto server = StartOneSlotServer();
  ClientSettings s = Settings();
  s.servers.push_back(Server("hsm1", server->port()));
  auto client = Open(s);
  ASSERT_NE(client, nullptr);
  constexpr int kCalls = 512;
  Tally tally;
  for (int i = 0; i < kCalls; ++i) {
    // Sizes vary so a frame cut at a record boundary would show.
    const std::string data = absl::StrCat("call-", i, std::string(i % 97, 'x'));
    ASSERT_TRUE(client
                    ->CallAsync(0, kOpEcho, data, In(absl::Seconds(20)),
                                tally.Expect(data))
                    .ok());
  }
  EXPECT_TRUE(WaitFor([&]() { return tally.Delivered() == kCalls; },
                      absl::Seconds(30)));
  EXPECT_EQ(tally.Correct(), kCalls);
  EXPECT_EQ(server->accepted(), 1);
}

TEST(ClientIoTest, PipelinedAsyncCallsFromSixteenThreadsAllComplete) {
  auto server = StartOneSlotServer();
  ClientSettings s = Settings();
  s.servers.push_back(Server("hsm1", server->port()));
  auto client = Open(s);
  ASSERT_NE(client, nullptr);
  Tally tally;
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t]() {
      for (int i = 0; i < 100; ++i) {
        const std::string data = absl::StrCat("t", t, "-", i);
        if (!client
                 ->CallAsync(0, kOpEcho, data, In(absl::Seconds(30)),
                             tally.Expect(data))
                 .ok()) {
          refused.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(refused.load(), 0);
  EXPECT_TRUE(
      WaitFor([&]() { return tally.Delivered() == 1600; }, absl::Seconds(30)));
  EXPECT_EQ(tally.Correct(), 1600);
}

TEST(ClientIoTest, ALoneCallCompletesWhileAnotherIsInFlight) {
  auto server = StartOneSlotServer();
  ClientSettings s = Settings();
  s.servers.push_back(Server("hsm1", server->port()));
  auto client = Open(s);
  ASSERT_NE(client, nullptr);
  // Nothing in flight: the caller writes.
  absl::StatusOr<std::string> first =
      client->Call(0, kOpEcho, "first", In(absl::Seconds(5)));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, "first");
  // A held call keeps one in flight, so the next is left to the loop; with
  // nothing following it, the loop must still write it.
  Tally held;
  ASSERT_TRUE(
      client->CallAsync(0, kOpHold, "h", In(absl::Seconds(30)), held.Expect(""))
          .ok());
  ASSERT_TRUE(WaitFor([&]() { return server->held() == 1; }));
  for (int i = 0; i < 3; ++i) {
    const std::string data = absl::StrCat("alone-", i);
    absl::StatusOr<std::string> r =
        client->Call(0, kOpEcho, data, In(absl::Seconds(5)));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*r, data);
  }
  EXPECT_EQ(held.Delivered(), 0);
}

TEST(ClientIoTest, WithoutAnIoThreadQueuedCallsLeaveInOneWriteFromProcess) {
  auto server = StartOneSlotServer();
  ClientSettings s = Settings();
  s.servers.push_back(Server("hsm1", server->port()));
  s.use_io_thread = false;
  auto client = Open(s);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->WaitReady(In(absl::Seconds(10))).ok());
  const uint64_t before = client->Servers()[0].tls_writes;
  constexpr int kCalls = 64;
  Tally tally;
  for (int i = 0; i < kCalls; ++i) {
    const std::string data = absl::StrCat("q", i);
    ASSERT_TRUE(client
                    ->CallAsync(0, kOpEcho, data, In(absl::Seconds(10)),
                                tally.Expect(data))
                    .ok());
  }
  // The first call found nothing in flight and was written at once; the
  // other 63 wait for the loop.
  EXPECT_EQ(client->Servers()[0].tls_writes, before + 1);
  const absl::Time deadline = In(absl::Seconds(10));
  while (tally.Delivered() < kCalls && absl::Now() < deadline) {
    ASSERT_TRUE(client->Process(absl::Milliseconds(100)).ok());
  }
  EXPECT_EQ(tally.Correct(), kCalls);
  EXPECT_EQ(client->Servers()[0].tls_writes, before + 2);
  // A blocking call still drives the loop itself and is written.
  absl::StatusOr<std::string> r =
      client->Call(0, kOpEcho, "sync", In(absl::Seconds(5)));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "sync");
}

TEST(ClientIoTest, ARoundTripCostsOneRecvAndNoTimerReArm) {
  auto server = StartOneSlotServer();
  ClientSettings s = Settings();
  s.servers.push_back(Server("hsm1", server->port()));
  auto client = Open(s);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->WaitReady(In(absl::Seconds(10))).ok());
  ASSERT_TRUE(client->Call(0, kOpEcho, "warm", In(absl::Seconds(10))).ok());
  const uint64_t reads_before = client->Servers()[0].socket_reads;
  const uint64_t arms_before = client->TimerArms();
  constexpr int kCalls = 50;
  for (int i = 0; i < kCalls; ++i) {
    const std::string data = absl::StrCat("round trip ", i);
    absl::StatusOr<std::string> r =
        client->Call(0, kOpEcho, data, In(absl::Seconds(10)));
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(*r, data);
  }
  const uint64_t reads = client->Servers()[0].socket_reads - reads_before;
  const uint64_t arms = client->TimerArms() - arms_before;
  // One recv per answer (the old path took three: the record header, its
  // body, and a probe that found EAGAIN). A heartbeat may add a few.
  EXPECT_LE(reads, kCalls + 5u)
      << reads << " recv calls for " << kCalls << " round trips";
  // Every answer moves the heartbeat deadline later and every call's own
  // deadline is later than the one armed: neither re-arms the timer.
  EXPECT_LE(arms, 5u) << arms << " timer re-arms for " << kCalls
                      << " round trips";
}

TEST(ClientIoTest, ANameWithTwoAddressesConnectsViaTheSecond) {
  for (bool io_thread : {true, false}) {
    SCOPED_TRACE(io_thread ? "I/O thread" : "no threads");
    auto server = StartOneSlotServer();
    // Nothing listens on 127.0.0.2 (the server binds 127.0.0.1 only); ::1
    // either refuses or does not exist here. Both count as a failure.
    auto gate = TestResolver::Answering({"::1", "127.0.0.2", "127.0.0.1"});
    ClientSettings s = Settings();
    s.servers.push_back(Server("hsm1", server->port()));
    s.servers[0].host = "hsm1.test";
    s.resolver = TestResolver::Of(gate);
    s.use_io_thread = io_thread;
    auto client = Open(s);
    ASSERT_NE(client, nullptr);
    ASSERT_TRUE(client->WaitReady(In(absl::Seconds(10))).ok());
    ASSERT_EQ(client->Servers()[0].state, LinkState::kReady)
        << client->Servers()[0].last_error;
    absl::StatusOr<std::string> r =
        client->Call(0, kOpEcho, "via-second", In(absl::Seconds(5)));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*r, "via-second");
    EXPECT_EQ(client->Servers()[0].connects, 1u);
    EXPECT_EQ(gate->Asked(), std::vector<std::string>{"hsm1.test"});
  }
}

TEST(ClientIoTest, WhenEveryAddressFailsTheErrorListsThemAll) {
  auto server = StartOneSlotServer();  // for a free port that then refuses
  const uint16_t port = server->port();
  server.reset();
  auto gate = TestResolver::Answering({"127.0.0.2", "127.0.0.1"});
  ClientSettings s = Settings();
  s.servers.push_back(Server("hsm1", port));
  s.servers[0].host = "hsm1.test";
  s.resolver = TestResolver::Of(gate);
  s.reconnect = false;
  auto client = Open(s);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(WaitFor(
      [&]() { return client->Servers()[0].state == LinkState::kStopped; }));
  const absl::Status err = client->Servers()[0].last_error;
  EXPECT_EQ(ToTlStatus(err), TL_E_CONNECTION_REFUSED) << err;
  EXPECT_NE(err.message().find(absl::StrCat("127.0.0.2:", port)),
            absl::string_view::npos)
      << err;
  EXPECT_NE(err.message().find(absl::StrCat("127.0.0.1:", port)),
            absl::string_view::npos)
      << err;
  EXPECT_NE(err.message().find("hsm1.test"), absl::string_view::npos) << err;
}

TEST(ClientIoTest, AHungResolverDoesNotBlockCallsToAnotherServer) {
  auto server = StartOneSlotServer();
  auto gate = TestResolver::Answering({"127.0.0.2"}, /*hang=*/true);
  ClientSettings s = Settings();
  s.servers.push_back(Server("hung", 1));  // port 1: never reached
  s.servers[0].host = "hung.test";
  s.servers.push_back(Server("hsm2", server->port()));  // an IP literal
  s.resolver = TestResolver::Of(gate);
  s.connect_timeout = absl::Milliseconds(500);
  s.initial_wait = absl::Milliseconds(200);
  auto client = Open(s);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(WaitFor([&]() { return client->Slots().size() == 1; }));
  EXPECT_EQ(client->Slots()[0].server, "hsm2");
  // Calls to the other server go through while the lookup hangs.
  const absl::Time start = absl::Now();
  for (int i = 0; i < 20; ++i) {
    const std::string data = absl::StrCat("other-", i);
    absl::StatusOr<std::string> r =
        client->Call(0, kOpEcho, data, In(absl::Seconds(2)));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*r, data);
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  // The hung server times out naming the phase, and its next attempts wait
  // on the same lookup instead of starting more.
  ASSERT_TRUE(WaitFor([&]() {
    const absl::Status e = client->Servers()[0].last_error;
    return ToTlStatus(e) == TL_E_DEADLINE_EXCEEDED &&
           e.message().find("name resolution") != absl::string_view::npos;
  })) << client->Servers()[0].last_error;
  EXPECT_EQ(gate->Asked(), std::vector<std::string>{"hung.test"});
  // Once the lookup answers, its address is tried and reported.
  gate->Release();
  ASSERT_TRUE(WaitFor([&]() {
    return client->Servers()[0].last_error.message().find("127.0.0.2:1") !=
           absl::string_view::npos;
  })) << client->Servers()[0].last_error;
  EXPECT_TRUE(client->Call(0, kOpEcho, "still", In(absl::Seconds(5))).ok());
}

}  // namespace
}  // namespace trustlink::ntl::client
