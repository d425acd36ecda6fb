#include "ntl/client/client.h"

#include <openssl/ssl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "htl/messages.h"
#include "htl/proof_service.h"
#include "ntl/client/pin.h"
#include "ntl/client/testing/fake_server.h"
#include "ntl/client/testing/test_util.h"
#include "ntl/internal/mutex.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {
namespace {

using testing::FakeServer;
using testing::Fault;
using testing::kOpEcho;
using testing::kOpFail;
using testing::kOpHold;
using testing::Server;
using testing::ServerOptions;
using testing::Settings;
using testing::WaitFor;

std::unique_ptr<FakeServer> StartServer(std::vector<wire::SlotInfo> slots,
                                        Fault fault = Fault::kNone,
                                        uint16_t port = 0) {
  testing::FakeServerOptions o = ServerOptions();
  o.slots = std::move(slots);
  o.fault = fault;
  absl::StatusOr<std::unique_ptr<FakeServer>> s =
      FakeServer::Start(std::move(o), port);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

std::unique_ptr<Client> Open(ClientSettings settings) {
  absl::StatusOr<std::unique_ptr<Client>> c =
      Client::Create(std::move(settings));
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(*c) : nullptr;
}

absl::Time In(absl::Duration d) { return absl::Now() + d; }

TEST(ClientTest, CallsAPartitionOverThePinnedLink) {
  auto server = StartServer({{"p1", "label one", "S1"}});
  ClientSettings s = Settings();
  s.servers.push_back(Server("hsm1", server->port()));
  auto client = Open(s);
  ASSERT_NE(client, nullptr);
  std::vector<Slot> slots = client->Slots();
  ASSERT_EQ(slots.size(), 1u);
  EXPECT_EQ(slots[0].id, 0);
  EXPECT_EQ(slots[0].server, "hsm1");
  EXPECT_EQ(slots[0].partition, "p1");
  EXPECT_EQ(slots[0].label, "label one");
  EXPECT_EQ(slots[0].serial, "S1");
  EXPECT_EQ(slots[0].state, SlotState::kReady);
  absl::StatusOr<std::string> r =
      client->Call(0, kOpEcho, "hello", In(absl::Seconds(5)));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "hello");
  absl::StatusOr<std::string> bad =
      client->Call(0, kOpFail, "x", In(absl::Seconds(5)));
  EXPECT_EQ(ToTlStatus(bad.status()), TL_E_INVALID_ARGUMENT);
  absl::StatusOr<std::string> none =
      client->Call(7, kOpEcho, "x", In(absl::Seconds(5)));
  EXPECT_EQ(ToTlStatus(none.status()), TL_E_NOT_FOUND);
  EXPECT_EQ(server->last_hello_features(), 0u);
}

TEST(ClientTest, HtlFlagIsSentInHello) {
  auto server = StartServer({{"p1", "l", "s"}});
  // An HTL server's link needs a proof from the local agent; a stand-in
  // answers here (htl_link_test.cc has the real agent and appliance).
  // Short (sun_path), and unique across concurrent runs (PID namespaces).
  char dir_buf[] = "/tmp/tl-client-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir_buf), nullptr);
  const std::string dir = std::string(dir_buf) + "/run";
  auto agent = htl::ProofService::Start(
      dir + "/htl-agent.sock", [](absl::string_view, absl::string_view) {
        htl::LinkProof p;
        p.generation = 1;
        p.mac = std::string(32, 'm');
        return absl::StatusOr<htl::LinkProof>(p);
      });
  ASSERT_TRUE(agent.ok()) << agent.status();
  ClientSettings s = Settings();
  s.servers.push_back(Server("hsm1", server->port()));
  s.servers[0].htl = true;
  s.htl_proof_socket = (*agent)->path();
  auto client = Open(s);
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(server->last_hello_features(), 1u);
  EXPECT_EQ(client->Slots().size(), 1u);
  (*agent)->Stop();
  rmdir(dir.c_str());
  rmdir(dir_buf);
}

TEST(ClientTest, PinMismatchIsRefusedAndNamesBothFingerprints) {
  auto server = StartServer({{"p1", "l", "s"}});
  ClientSettings s = Settings();
  s.servers.push_back(Server("hsm1", server->port(), "server_p256"));
  s.reconnect = false;
  auto client = Open(s);
  ASSERT_NE(client, nullptr);
  EXPECT_TRUE(client->Slots().empty());
  ServerStatus st = client->Servers()[0];
  EXPECT_NE(st.state, LinkState::kReady);
  EXPECT_EQ(ToTlStatus(st.last_error), TL_E_CERT_PIN_MISMATCH);
  const std::string presented = Sha256Fingerprint(
      CertPemToDer(
          testing::ReadTestFile("testdata/tls/server_ed25519.cert.pem"), "x")
          .value());
  const std::string pinned = Sha256Fingerprint(
      CertPemToDer(testing::ReadTestFile("testdata/tls/server_p256.cert.pem"),
                   "x")
          .value());
  EXPECT_NE(st.last_error.message().find(presented), absl::string_view::npos)
      << st.last_error;
  EXPECT_NE(st.last_error.message().find(pinned), absl::string_view::npos);
}

TEST(ClientTest, ServerMissingFromTrustStoreIsNeverContacted) {
  auto server = StartServer({{"p1", "l", "s"}});
  ClientSettings s = Settings();
  s.servers.push_back(Server("hsm1", server->port()));
  s.servers[0].pinned_cert_der.clear();
  auto client = Open(s);
  ASSERT_NE(client, nullptr);
  ServerStatus st = client->Servers()[0];
  EXPECT_EQ(st.state, LinkState::kNotTrusted);
  EXPECT_EQ(ToTlStatus(st.last_error), TL_E_TRUST_STORE_INCONSISTENT);
  EXPECT_NE(st.last_error.message().find("CAFile.pem"),
            absl::string_view::npos);
  EXPECT_EQ(server->accepted(), 0);
}

TEST(ClientTest, SixteenThreadsShareOneConnection) {
  auto server = StartServer({{"p1", "l", "s"}});
  ClientSettings s = Settings();
  s.servers.push_back(Server("hsm1", server->port()));
  auto client = Open(s);
  ASSERT_NE(client, nullptr);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t]() {
      for (int i = 0; i < 100; ++i) {
        const std::string data = absl::StrCat("t", t, "-", i);
        absl::StatusOr<std::string> r =
            client->Call(0, kOpEcho, data, In(absl::Seconds(20)));
        if (r.ok() && *r == data) {
          ok.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(ok.load(), 1600);
  EXPECT_EQ(server->accepted(), 1);
}

TEST(ClientTest, DeadlineExpiresForBlockingAndAsyncCalls) {
  auto server = StartServer({{"p1", "l", "s"}});
  ClientSettings s = Settings();
  s.servers.push_back(Server("hsm1", server->port()));
  auto client = Open(s);
  ASSERT_NE(client, nullptr);
  const absl::Time start = absl::Now();
  absl::StatusOr<std::string> r =
      client->Call(0, kOpHold, "x", In(absl::Milliseconds(200)));
  EXPECT_EQ(ToTlStatus(r.status()), TL_E_DEADLINE_EXCEEDED);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));

  internal::Mutex mu;
  bool done = false;
  absl::Status got;
  ASSERT_TRUE(client
                  ->CallAsync(0, kOpHold, "x", In(absl::Milliseconds(200)),
                              [&](absl::StatusOr<std::string> res) {
                                internal::MutexLock l(&mu);
                                got = res.status();
                                done = true;
                              })
                  .ok());
  EXPECT_TRUE(WaitFor([&]() {
    internal::MutexLock l(&mu);
    return done;
  }));
  internal::MutexLock l(&mu);
  EXPECT_EQ(ToTlStatus(got), TL_E_DEADLINE_EXCEEDED);
  // The link survives a late call.
  EXPECT_TRUE(client->Call(0, kOpEcho, "y", In(absl::Seconds(5))).ok());
}

TEST(ClientTest, ConnectionLostMidCallFailsFast) {
  auto server = StartServer({{"p1", "l", "s"}});
  ClientSettings s = Settings();
  s.servers.push_back(Server("hsm1", server->port()));
  auto client = Open(s);
  ASSERT_NE(client, nullptr);
  absl::Status result;
  absl::Time finished;
  std::thread caller([&]() {
    result = client->Call(0, kOpHold, "x", In(absl::Seconds(60))).status();
    finished = absl::Now();
  });
  ASSERT_TRUE(WaitFor([&]() { return server->held() == 1; }));
  const absl::Time cut = absl::Now();
  server->DropConnections();
  caller.join();
  EXPECT_EQ(ToTlStatus(result), TL_E_CONNECTION_LOST) << result;
  EXPECT_LT(finished - cut, absl::Seconds(5));
}

TEST(ClientTest, ReconnectsAfterThePeerRestartsAndResumes) {
  auto server = StartServer({{"p1", "l", "s"}});
  const uint16_t port = server->port();
  ClientSettings s = Settings();
  s.servers.push_back(Server("hsm1", port));
  auto client = Open(s);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Call(0, kOpEcho, "a", In(absl::Seconds(5))).ok());

  // Same listener, dropped links: the client comes back on a resumed TLS 1.3
  // session.
  server->DropConnections();
  ASSERT_TRUE(WaitFor([&]() {
    ServerStatus st = client->Servers()[0];
    return st.connects >= 2 && st.state == LinkState::kReady;
  }));
  EXPECT_TRUE(client->Servers()[0].resumed);
  EXPECT_GE(server->resumed(), 1);
  EXPECT_TRUE(client->Call(0, kOpEcho, "b", In(absl::Seconds(5))).ok());

  // A restarted server process (new listener on the same port).
  server.reset();
  ASSERT_TRUE(WaitFor(
      [&]() { return client->Slots()[0].state == SlotState::kServerDown; }));
  absl::StatusOr<std::string> down =
      client->Call(0, kOpEcho, "c", In(absl::Seconds(5)));
  EXPECT_EQ(ToTlStatus(down.status()), TL_E_UNAVAILABLE);
  server = StartServer({{"p1", "l", "s"}}, Fault::kNone, port);
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(
      WaitFor([&]() { return client->Slots()[0].state == SlotState::kReady; }));
  absl::StatusOr<std::string> r =
      client->Call(0, kOpEcho, "d", In(absl::Seconds(5)));
  ASSERT_TRUE(r.ok()) << r.status();
}

// DrainInotify reads the queued events of the non-blocking inotify `watch`,
// closes it, and counts those with a bit of `mask` on the file `name` (any
// file in the folder when null).
int DrainInotify(int watch, uint32_t mask, const char* name) {
  int count = 0;
  alignas(inotify_event) char buf[64 * 1024];
  ssize_t n;
  while ((n = read(watch, buf, sizeof(buf))) > 0) {
    for (char* p = buf; p < buf + n;) {
      auto* e = reinterpret_cast<inotify_event*>(p);
      if ((e->mask & mask) != 0 && e->len > 0 &&
          (name == nullptr || std::strcmp(e->name, name) == 0)) {
        ++count;
      }
      p += sizeof(inotify_event) + e->len;
    }
  }
  close(watch);
  return count;
}

TEST(ClientTest, LinksBackWithTheirPartitionsLeaveTheSlotsFileAlone) {
  // Links that come back listing what they listed before (a reconnect storm)
  // keep their numbers without reading slots.conf: read whole on every loop
  // pass, it made N links coming back cost O(N^2).
  constexpr int kLinks = 20;
  auto server = StartServer({{"p1", "l", "s"}});
  const std::string dir =
      std::string(std::getenv("TEST_TMPDIR")) + "/slots-storm";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0) << std::strerror(errno);
  ClientSettings s = Settings();
  s.slot_numbers_dir = dir;
  s.initial_wait = absl::Seconds(60);
  for (int i = 0; i < kLinks; ++i) {
    s.servers.push_back(Server(absl::StrCat("hsm", i), server->port()));
  }
  auto client = Open(s);
  ASSERT_NE(client, nullptr);
  const std::vector<Slot> before = client->Slots();
  ASSERT_EQ(before.size(), static_cast<size_t>(kLinks));
  const int watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  ASSERT_GE(watch, 0);
  ASSERT_GE(inotify_add_watch(watch, dir.c_str(), IN_OPEN), 0);

  server->DropConnections();
  ASSERT_TRUE(WaitFor([&]() {
    for (const ServerStatus& st : client->Servers()) {
      if (st.connects < 2 || st.state != LinkState::kReady) return false;
    }
    return true;
  }));
  const std::vector<Slot> after = client->Slots();
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].id, before[i].id);
    EXPECT_EQ(after[i].server, before[i].server);
    EXPECT_EQ(after[i].state, SlotState::kReady);
  }
  EXPECT_EQ(DrainInotify(watch, IN_OPEN, nullptr), 0)
      << "links coming back opened files in the slots folder";
}

TEST(ClientTest, SlotNumbersStayStableWhileServersComeAndGo) {
  auto a = StartServer({{"a1", "A one", "1"}, {"a2", "A two", "2"}});
  auto b = StartServer({{"b1", "B one", "3"}});
  const uint16_t a_port = a->port();
  ClientSettings s = Settings();
  s.servers.push_back(Server("hsmA", a_port));
  s.servers.push_back(Server("hsmB", b->port()));
  auto client = Open(s);
  ASSERT_NE(client, nullptr);
  std::vector<Slot> slots = client->Slots();
  ASSERT_EQ(slots.size(), 3u);
  EXPECT_EQ(slots[0].partition, "a1");
  EXPECT_EQ(slots[1].partition, "a2");
  EXPECT_EQ(slots[2].partition, "b1");

  a.reset();
  ASSERT_TRUE(WaitFor(
      [&]() { return client->Slots()[0].state == SlotState::kServerDown; }));
  slots = client->Slots();
  ASSERT_EQ(slots.size(), 3u);
  EXPECT_EQ(slots[1].state, SlotState::kServerDown);
  EXPECT_EQ(slots[2].partition, "b1");
  EXPECT_EQ(slots[2].state, SlotState::kReady);
  absl::StatusOr<std::string> r =
      client->Call(2, kOpEcho, "b", In(absl::Seconds(5)));
  EXPECT_TRUE(r.ok()) << r.status();

  // A comes back with a2 revoked and a3 new: a3 gets a new number, nothing
  // shifts.
  a = StartServer({{"a1", "A one", "1"}, {"a3", "A three", "4"}}, Fault::kNone,
                  a_port);
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(
      WaitFor([&]() { return client->Slots()[0].state == SlotState::kReady; }));
  slots = client->Slots();
  ASSERT_EQ(slots.size(), 4u);
  EXPECT_EQ(slots[0].partition, "a1");
  EXPECT_EQ(slots[1].partition, "a2");
  EXPECT_EQ(slots[1].state, SlotState::kRemoved);
  EXPECT_EQ(slots[2].partition, "b1");
  EXPECT_EQ(slots[3].partition, "a3");
  EXPECT_EQ(
      ToTlStatus(client->Call(1, kOpEcho, "x", In(absl::Seconds(5))).status()),
      TL_E_PARTITION_NOT_ASSIGNED);
  EXPECT_TRUE(client->Call(3, kOpEcho, "x", In(absl::Seconds(5))).ok());
}

// SlotsFileNumbers reads <dir>/slots.conf: partition -> number.
std::map<std::string, int> SlotsFileNumbers(const std::string& dir) {
  std::map<std::string, int> numbers;
  std::ifstream in(dir + "/slots.conf");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    int slot;
    std::string server, partition;
    if (fields >> slot >> server >> partition) numbers[partition] = slot;
  }
  return numbers;
}

TEST(ClientTest, ARevokedSlotKeepsItsNumberInTheFileWhileThisProcessShowsIt) {
  // a2 is revoked while this process still shows it (removed) at its number:
  // the file must not give that number to a3, or another process would read
  // slot 1 as a3 while this one calls it a2 and puts a3 elsewhere.
  auto a = StartServer({{"a1", "A one", "1"}, {"a2", "A two", "2"}});
  auto b = StartServer({{"b1", "B one", "3"}});
  const uint16_t a_port = a->port();
  const std::string dir =
      std::string(std::getenv("TEST_TMPDIR")) + "/slots-revoked";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0) << std::strerror(errno);
  ClientSettings s = Settings();
  s.slot_numbers_dir = dir;
  s.servers.push_back(Server("hsmA", a_port));
  s.servers.push_back(Server("hsmB", b->port()));
  auto client = Open(s);
  ASSERT_NE(client, nullptr);
  ASSERT_EQ(client->Slots().size(), 3u);

  a.reset();
  ASSERT_TRUE(WaitFor(
      [&]() { return client->Slots()[0].state == SlotState::kServerDown; }));
  a = StartServer({{"a1", "A one", "1"}, {"a3", "A three", "4"}}, Fault::kNone,
                  a_port);
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(WaitFor([&]() { return client->Slots().size() == 4u; }));
  const std::map<std::string, int> file = SlotsFileNumbers(dir);
  for (const Slot& slot : client->Slots()) {
    if (slot.state == SlotState::kRemoved) {
      continue;  // gave its number up in the file
    }
    ASSERT_EQ(file.count(slot.partition), 1u) << slot.partition;
    EXPECT_EQ(file.at(slot.partition), slot.id)
        << slot.partition << ": this process and slots.conf disagree";
  }
}

TEST(ClientTest, LinksUpTogetherShareOneSlotsFileUpdate) {
  // 40 links to one server, all up before tl_client_open returns: their slots
  // are numbered in one slots.conf replacement (two fsyncs), not one each,
  // which was most of a 1,000-link ramp-up.
  constexpr int kLinks = 40;
  auto server = StartServer({{"p1", "l", "s"}});
  const std::string dir =
      std::string(std::getenv("TEST_TMPDIR")) + "/slots-batch";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0) << std::strerror(errno);
  const int watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  ASSERT_GE(watch, 0);
  // Both halves of each rename: identical consecutive events are merged, and
  // the halves alternate, so every rename is seen.
  ASSERT_GE(inotify_add_watch(watch, dir.c_str(), IN_MOVED_FROM | IN_MOVED_TO),
            0);
  ClientSettings s = Settings();
  s.slot_numbers_dir = dir;
  s.initial_wait = absl::Seconds(60);  // returns once every link settled
  for (int i = 0; i < kLinks; ++i) {
    s.servers.push_back(Server(absl::StrCat("hsm", i), server->port()));
  }
  auto client = Open(s);
  ASSERT_NE(client, nullptr);
  std::vector<Slot> slots = client->Slots();
  ASSERT_EQ(slots.size(), static_cast<size_t>(kLinks));
  for (int i = 0; i < kLinks; ++i) {
    EXPECT_EQ(slots[i].id, i);  // config order
    EXPECT_EQ(slots[i].server, absl::StrCat("hsm", i));
  }
  EXPECT_EQ(DrainInotify(watch, IN_MOVED_TO, "slots.conf"), 1)
      << "slots.conf was replaced once per link";
}

TEST(ClientTest, AsyncCallbacksDeliverEveryResponse) {
  auto server = StartServer({{"p1", "l", "s"}});
  ClientSettings s = Settings();
  s.servers.push_back(Server("hsm1", server->port()));
  auto client = Open(s);
  ASSERT_NE(client, nullptr);
  internal::Mutex mu;
  int delivered = 0;
  int correct = 0;
  for (int i = 0; i < 64; ++i) {
    const std::string data = absl::StrCat("call-", i);
    ASSERT_TRUE(client
                    ->CallAsync(0, kOpEcho, data, In(absl::Seconds(10)),
                                [&, data](absl::StatusOr<std::string> r) {
                                  internal::MutexLock l(&mu);
                                  ++delivered;
                                  if (r.ok() && *r == data) {
                                    ++correct;
                                  }
                                })
                    .ok());
  }
  EXPECT_TRUE(WaitFor([&]() {
    internal::MutexLock l(&mu);
    return delivered == 64;
  }));
  internal::MutexLock l(&mu);
  EXPECT_EQ(correct, 64);
}

TEST(ClientTest, FdModeRunsWithoutLibraryThreads) {
  auto server = StartServer({{"p1", "l", "s"}});
  ClientSettings s = Settings();
  s.servers.push_back(Server("hsm1", server->port()));
  s.use_io_thread = false;
  auto client = Open(s);
  ASSERT_NE(client, nullptr);
  ASSERT_GE(client->fd(), 0);
  ASSERT_TRUE(client->WaitReady(In(absl::Seconds(10))).ok());
  ASSERT_EQ(client->Slots().size(), 1u);
  // A blocking call drives the loop itself.
  absl::StatusOr<std::string> r =
      client->Call(0, kOpEcho, "sync", In(absl::Seconds(5)));
  ASSERT_TRUE(r.ok()) << r.status();
  // An async call completes only through Process(), on this thread.
  const std::thread::id me = std::this_thread::get_id();
  bool done = false;
  bool on_my_thread = false;
  ASSERT_TRUE(client
                  ->CallAsync(0, kOpEcho, "async", In(absl::Seconds(5)),
                              [&](absl::StatusOr<std::string> res) {
                                done = res.ok() && *res == "async";
                                on_my_thread = std::this_thread::get_id() == me;
                              })
                  .ok());
  const absl::Time deadline = In(absl::Seconds(10));
  while (!done && absl::Now() < deadline) {
    ASSERT_TRUE(client->Process(absl::Milliseconds(100)).ok());
  }
  EXPECT_TRUE(done);
  EXPECT_TRUE(on_my_thread);
}

TEST(ClientTest, HeartbeatDetectsASilentPeer) {
  auto server = StartServer({{"p1", "l", "s"}}, Fault::kSilentAfterWelcome);
  ClientSettings s = Settings();
  s.servers.push_back(Server("hsm1", server->port()));
  s.heartbeat_interval = absl::Milliseconds(100);
  s.heartbeat_timeout = absl::Milliseconds(400);
  s.reconnect = false;
  auto client = Open(s);
  ASSERT_NE(client, nullptr);
  absl::StatusOr<std::string> r =
      client->Call(0, kOpEcho, "x", In(absl::Seconds(30)));
  EXPECT_EQ(ToTlStatus(r.status()), TL_E_CONNECTION_LOST);
  EXPECT_NE(r.status().message().find("heartbeat"), absl::string_view::npos)
      << r.status();
}

TEST(ClientTest, GarbageAndCutFramesEndTheLink) {
  for (Fault fault :
       {Fault::kGarbageAfterWelcome, Fault::kCutFrameAfterWelcome}) {
    auto server = StartServer({{"p1", "l", "s"}}, fault);
    ClientSettings s = Settings();
    s.servers.push_back(Server("hsm1", server->port()));
    s.reconnect = false;
    auto client = Open(s);
    ASSERT_NE(client, nullptr);
    ASSERT_TRUE(WaitFor(
        [&]() { return client->Servers()[0].state == LinkState::kStopped; }));
    const tl_status code = ToTlStatus(client->Servers()[0].last_error);
    EXPECT_TRUE(code == TL_E_PROTOCOL || code == TL_E_CONNECTION_LOST) << code;
  }
}

TEST(ClientTest, StreamsCarryBytesBothWays) {
  auto server = StartServer({{"p1", "l", "s"}});
  ClientSettings s = Settings();
  s.servers.push_back(Server("hsm1", server->port()));
  auto client = Open(s);
  ASSERT_NE(client, nullptr);
  internal::Mutex mu;
  std::string received;
  bool closed = false;
  StreamCallbacks cb;
  cb.on_data = [&](absl::string_view d) {
    internal::MutexLock l(&mu);
    received.append(d.data(), d.size());
  };
  cb.on_close = [&](const absl::Status&) {
    internal::MutexLock l(&mu);
    closed = true;
  };
  absl::StatusOr<uint64_t> stream = client->StreamOpen(0, "pkcs11", cb);
  ASSERT_TRUE(stream.ok()) << stream.status();
  ASSERT_TRUE(client->StreamSend(*stream, "ping-pong").ok());
  EXPECT_TRUE(WaitFor([&]() {
    internal::MutexLock l(&mu);
    return received == "ping-pong";
  }));
  ASSERT_TRUE(client->StreamClose(*stream).ok());
  EXPECT_EQ(ToTlStatus(client->StreamSend(*stream, "late")), TL_E_NOT_FOUND);
}

}  // namespace
}  // namespace trustlink::ntl::client
