// The blocking call reads its own answer when it is alone on the link
// (Connection::TakeReading, connection_caller_read.cc), and hands the socket
// back to the I/O thread whenever anything else needs it.

#include <dirent.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
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
using testing::Settings;
using testing::StartOneSlotServer;
using testing::WaitFor;

std::unique_ptr<Client> Open(uint16_t port, bool io_thread = true) {
  ClientSettings s = Settings();
  s.servers.push_back(Server("hsm1", port));
  s.use_io_thread = io_thread;
  absl::StatusOr<std::unique_ptr<Client>> c = Client::Create(std::move(s));
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(*c) : nullptr;
}

absl::Time In(absl::Duration d) { return absl::Now() + d; }

// AsyncEcho is what an asynchronous echo answered (or why not) and the thread
// its callback ran on.
struct AsyncEcho {
  std::string got;
  std::thread::id thread;
};

// EchoAsync makes an asynchronous echo of `data` on slot 0 and waits for its
// callback.
AsyncEcho EchoAsync(Client* client, const std::string& data) {
  // Shared with the callback, which may outlive a wait that gave up.
  struct State {
    internal::Mutex mu;
    bool done = false;
    AsyncEcho echo;
  };
  auto state = std::make_shared<State>();
  absl::Status sent =
      client->CallAsync(0, kOpEcho, data, In(absl::Seconds(10)),
                        [state](absl::StatusOr<std::string> r) {
                          internal::MutexLock l(&state->mu);
                          state->echo.thread = std::this_thread::get_id();
                          state->echo.got = r.ok() ? *r : r.status().ToString();
                          state->done = true;
                        });
  if (!sent.ok()) {
    return AsyncEcho{sent.ToString(), {}};
  }
  if (!WaitFor([&]() {
        internal::MutexLock l(&state->mu);
        return state->done;
      })) {
    return AsyncEcho{"no answer within 10 s", {}};
  }
  internal::MutexLock l(&state->mu);
  return state->echo;
}

// ThreadWakeups maps each thread of this process, other than the calling one
// and an in-process test server's ("ntls-*"), to its voluntary context
// switches (each a sleep that ended in a wake-up): the client's I/O thread,
// and a sanitizer's helper thread, which wakes on its own clock.
std::map<std::string, uint64_t> ThreadWakeups() {
  const std::string self = std::to_string(syscall(SYS_gettid));
  std::map<std::string, uint64_t> out;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d)) {
      const std::string tid = e->d_name;
      if (tid[0] == '.' || tid == self) continue;
      const std::string dir = "/proc/self/task/" + tid;
      std::string name;
      std::getline(std::ifstream(dir + "/comm"), name);
      if (name.rfind("ntls-", 0) == 0) continue;
      // Where it sleeps (do_epoll_wait: the I/O thread), for the message.
      std::string wchan;
      std::getline(std::ifstream(dir + "/wchan"), wchan);
      name += "@" + wchan;
      std::ifstream status(dir + "/status");
      for (std::string line; std::getline(status, line);) {
        if (line.rfind("voluntary_ctxt_switches:", 0) == 0) {
          out[absl::StrCat(name, "/", tid)] =
              std::stoull(line.substr(line.find(':') + 1));
        }
      }
    }
    closedir(d);
  }
  return out;
}

// WakeupsSince sums the wake-ups since `before` and names each thread's.
uint64_t WakeupsSince(const std::map<std::string, uint64_t>& before,
                      std::string* detail) {
  uint64_t sum = 0;
  for (const auto& [thread, n] : ThreadWakeups()) {
    auto it = before.find(thread);
    const uint64_t d = n - (it != before.end() ? it->second : 0);
    sum += d;
    absl::StrAppend(detail, " ", thread, ":", d);
  }
  return sum;
}

TEST(CallerReadTest, LoneBlockingCallsAreReadByTheirCallerNotTheIoThread) {
  auto server = StartOneSlotServer();
  ASSERT_NE(server, nullptr);
  auto client = Open(server->port());
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Call(0, kOpEcho, "warm", In(absl::Seconds(5))).ok());
  constexpr int kCalls = 300;
  const ServerStatus before = client->Servers()[0];
  const std::map<std::string, uint64_t> wakeups_before = ThreadWakeups();
  const absl::Time start = absl::Now();
  for (int i = 0; i < kCalls; ++i) {
    const std::string data = absl::StrCat("call-", i, std::string(i % 50, 'x'));
    absl::StatusOr<std::string> r =
        client->Call(0, kOpEcho, data, In(absl::Seconds(10)));
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(*r, data);
  }
  const absl::Duration took = absl::Now() - start;
  std::string detail;
  const uint64_t wakeups = WakeupsSince(wakeups_before, &detail);
  const ServerStatus after = client->Servers()[0];
  EXPECT_EQ(after.caller_reads - before.caller_reads, kCalls);
  // Before, the I/O thread woke at least once per call to read the answer.
  // Some wake-ups come by the clock, not per call: the I/O thread's park timer
  // (once per kParkFor) and a sanitizer's own background thread (about every
  // 100 ms). A slow run (TSan on a busy host) earns them on top.
  const uint64_t by_the_clock =
      static_cast<uint64_t>(took / kParkFor + took / absl::Milliseconds(100));
  EXPECT_LT(wakeups, kCalls / 4u + by_the_clock)
      << "the client's other threads woke " << wakeups << " times for "
      << kCalls << " lone blocking calls in " << took
      << " (by thread:" << detail << ")";
  // Each reader parks the socket for the next (kParkFor): only the loop's
  // unpark after an idle kParkFor costs two epoll_ctl calls, with the next
  // call's take. Before, every call took the socket out of the loop's epoll
  // set and put it back.
  const uint64_t changes = after.epoll_changes - before.epoll_changes;
  const uint64_t idle_periods = static_cast<uint64_t>(took / kParkFor) + 1;
  EXPECT_LE(changes, 2 * idle_periods)
      << changes << " epoll_ctl calls for " << kCalls
      << " back-to-back lone calls in " << took;
}

TEST(CallerReadTest, AParkedSocketServesTheNextAsyncCallAndTheLoop) {
  auto server = StartOneSlotServer();
  ASSERT_NE(server, nullptr);
  auto client = Open(server->port());
  ASSERT_NE(client, nullptr);
  // Parked by its reader, the socket goes back to the loop for an async call
  // at once (not after kParkFor: the deadline below is shorter)...
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client->Call(0, kOpEcho, "lone", In(absl::Seconds(5))).ok());
    EXPECT_EQ(EchoAsync(client.get(), "async").got, "async");
  }
  // ...and with nothing in flight the loop watches it again after kParkFor:
  // it sees the peer go without a call to find out.
  ASSERT_TRUE(client->Call(0, kOpEcho, "lone", In(absl::Seconds(5))).ok());
  const ServerStatus parked = client->Servers()[0];
  server->DropConnections();
  EXPECT_TRUE(WaitFor([&]() {
    ServerStatus st = client->Servers()[0];
    return st.connects > parked.connects && st.state == LinkState::kReady;
  }));
}

TEST(CallerReadTest, WithoutAnIoThreadTheCallerDrivesTheLoopAsBefore) {
  auto server = StartOneSlotServer();
  ASSERT_NE(server, nullptr);
  auto client = Open(server->port(), /*io_thread=*/false);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->WaitReady(In(absl::Seconds(10))).ok());
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<std::string> r =
        client->Call(0, kOpEcho, "x", In(absl::Seconds(10)));
    ASSERT_TRUE(r.ok()) << r.status();
  }
  EXPECT_EQ(client->Servers()[0].caller_reads, 0u);
}

TEST(CallerReadTest, AnotherCallTakesTheSocketBackForTheLoop) {
  auto server = StartOneSlotServer();
  ASSERT_NE(server, nullptr);
  auto client = Open(server->port());
  ASSERT_NE(client, nullptr);
  // A blocking call whose answer never comes holds the reader role...
  absl::Status held;
  std::thread::id holder_id;
  std::thread holder([&]() {
    holder_id = std::this_thread::get_id();
    held = client->Call(0, kOpHold, "held", In(absl::Seconds(60))).status();
  });
  ASSERT_TRUE(WaitFor([&]() { return server->held() == 1; }));
  // ...until another call needs the socket: its answer reaches the loop, and
  // its callback runs there, not on the holder's thread.
  const AsyncEcho echo = EchoAsync(client.get(), "async");
  EXPECT_EQ(echo.got, "async");
  EXPECT_NE(echo.thread, holder_id);
  // A second blocking call, while the first still waits, is answered too.
  absl::StatusOr<std::string> second =
      client->Call(0, kOpEcho, "second", In(absl::Seconds(10)));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*second, "second");
  // The holder, a follower now, still hears the link go.
  const absl::Time cut = absl::Now();
  server->DropConnections();
  holder.join();
  EXPECT_EQ(ToTlStatus(held), TL_E_CONNECTION_LOST) << held;
  EXPECT_LT(absl::Now() - cut, absl::Seconds(5));
}

TEST(CallerReadTest, ADeadlineWhileReadingGivesTheSocketBackToTheLoop) {
  auto server = StartOneSlotServer();
  ASSERT_NE(server, nullptr);
  auto client = Open(server->port());
  ASSERT_NE(client, nullptr);
  const absl::Time start = absl::Now();
  absl::StatusOr<std::string> r =
      client->Call(0, kOpHold, "x", In(absl::Milliseconds(200)));
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(ToTlStatus(r.status()), TL_E_DEADLINE_EXCEEDED) << r.status();
  EXPECT_GE(took, absl::Milliseconds(200));
  EXPECT_LT(took, absl::Seconds(5));
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<std::string> e =
        client->Call(0, kOpEcho, "again", In(absl::Seconds(10)));
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_EQ(*e, "again");
  }
  // With no call in flight the loop alone watches the socket: it sees the
  // peer go and reconnects, long before any heartbeat would notice.
  ASSERT_EQ(client->Servers()[0].connects, 1u);
  server->DropConnections();
  EXPECT_TRUE(WaitFor([&]() {
    ServerStatus st = client->Servers()[0];
    return st.connects >= 2 && st.state == LinkState::kReady;
  }));
}

TEST(CallerReadTest, ManyThreadsOfBlockingAndAsyncCallsAllComeBackRight) {
  auto server = StartOneSlotServer();
  ASSERT_NE(server, nullptr);
  auto client = Open(server->port());
  ASSERT_NE(client, nullptr);
  std::atomic<int> wrong{0};
  std::atomic<int> async_ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t]() {
      for (int i = 0; i < 150; ++i) {
        // Sizes vary so a frame cut at a record boundary would show.
        const std::string data =
            absl::StrCat("t", t, "-", i, std::string((i * 37) % 3000, 'y'));
        if (t == 0 && i % 3 == 0) {
          const bool sent =
              client
                  ->CallAsync(0, kOpEcho, data, In(absl::Seconds(30)),
                              [&, data](absl::StatusOr<std::string> r) {
                                if (r.ok() && *r == data) {
                                  async_ok.fetch_add(1);
                                } else {
                                  wrong.fetch_add(1);
                                }
                              })
                  .ok();
          if (!sent) {
            wrong.fetch_add(1);
          }
          continue;
        }
        absl::StatusOr<std::string> r =
            client->Call(0, kOpEcho, data, In(absl::Seconds(30)));
        if (!r.ok() || *r != data) {
          wrong.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_TRUE(WaitFor([&]() { return async_ok.load() == 50; }));
  EXPECT_EQ(client->Servers()[0].connects, 1u);
}

}  // namespace
}  // namespace trustlink::ntl::client
