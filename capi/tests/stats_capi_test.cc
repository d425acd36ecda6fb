// tl_server_stats and tl_client_stats end to end: a real tl_server and a real
// tl_client in this process, N calls, a failing call, a held call, and real
// refusals (a stranger's certificate, a registered one from the wrong source
// address, a peer without ALPN), each counted exactly.
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "capi/tests/fixture.h"
#include "gtest/gtest.h"
#include "ntl/server/test_client.h"
#include "trustlink/trustlink.h"

namespace {

using trustlink::capi::testing::LoopbackClientSettings;
using trustlink::capi::testing::LoopbackServerOptions;
using trustlink::capi::testing::ReadFixture;
using trustlink::capi::testing::ThreadError;
namespace srvtest = trustlink::ntl::server::testing;

constexpr uint32_t kOpFail = 99;
constexpr uint32_t kOpHold = 98;

// Handler answers at once: echo, or a failure for kOpFail; kOpHold keeps the
// responder until Release.
struct Handler {
  std::mutex mu;
  std::condition_variable cv;
  tl_server_responder* held = nullptr;

  static void Handle(void* userdata, const char*, const char*, uint32_t op,
                     const uint8_t* data, size_t data_len,
                     tl_server_responder* responder) {
    auto* h = static_cast<Handler*>(userdata);
    if (op == kOpHold) {
      std::lock_guard<std::mutex> lock(h->mu);
      h->held = responder;
      h->cv.notify_all();
      return;
    }
    if (op == kOpFail) {
      const std::string msg = "refused by the test";
      tl_server_responder_respond(responder, TL_E_PERMISSION_DENIED,
                                  reinterpret_cast<const uint8_t*>(msg.data()),
                                  msg.size());
      return;
    }
    tl_server_responder_respond(responder, TL_OK, data, data_len);
  }
  tl_server_responder* WaitHeld() {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::seconds(10),
                [&] { return held != nullptr; });
    tl_server_responder* r = held;
    held = nullptr;
    return r;
  }
};

uint64_t Value(const tl_stats* s, const char* name) {
  uint64_t v = 0;
  EXPECT_EQ(tl_stats_value(s, name, &v), TL_OK) << name;
  return v;
}

class StatsCapiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tl_server_options* opts = nullptr;
    ASSERT_EQ(LoopbackServerOptions(2, &opts), TL_OK) << ThreadError();
    ASSERT_EQ(tl_server_options_assign_partition(opts, "web1", "p1", "P1", "1"),
              TL_OK);
    ASSERT_EQ(tl_server_new(opts, &server_), TL_OK);
    tl_server_options_free(opts);
    ASSERT_EQ(
        tl_server_set_request_handler(server_, Handler::Handle, &handler_),
        TL_OK);
    ASSERT_EQ(tl_server_start(server_), TL_OK);
    ASSERT_EQ(tl_server_port(server_, &port_), TL_OK);
  }
  void TearDown() override {
    tl_client_close(client_);
    tl_server_free(server_);
  }

  void OpenClient() {
    tl_client_settings* s = nullptr;
    ASSERT_EQ(LoopbackClientSettings(port_, &s), TL_OK) << ThreadError();
    ASSERT_EQ(tl_client_open(s, &client_), TL_OK) << ThreadError();
    tl_client_settings_free(s);
    ASSERT_EQ(tl_client_wait_ready(client_, 10000), TL_OK) << ThreadError();
  }

  tl_stats* ServerStats() {
    tl_stats* s = nullptr;
    EXPECT_EQ(tl_server_stats(server_, &s), TL_OK) << ThreadError();
    return s;
  }
  tl_stats* ClientStats() {
    tl_stats* s = nullptr;
    EXPECT_EQ(tl_client_stats(client_, &s), TL_OK) << ThreadError();
    return s;
  }

  // Refused connects a TestClient with `o` and reads until the server closes.
  void Refused(srvtest::TestClientOptions o) {
    auto c = srvtest::TestClient::Connect(port_, o);
    if (c.ok()) {
      auto f = (*c)->Read();  // TLS 1.3: the refusal comes after the handshake
      EXPECT_FALSE(f.ok()) << "the server admitted a peer it should refuse";
    }
  }

  // WaitServer waits until `name` on the server reaches `want`.
  uint64_t WaitServer(const char* name, uint64_t want) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    uint64_t v = 0;
    while (absl::Now() < deadline) {
      tl_stats* s = ServerStats();
      v = Value(s, name);
      tl_stats_free(s);
      if (v >= want) {
        break;
      }
      absl::SleepFor(absl::Milliseconds(5));  // polling with a deadline
    }
    return v;
  }

  Handler handler_;
  tl_server* server_ = nullptr;
  tl_client* client_ = nullptr;
  uint16_t port_ = 0;
};

TEST_F(StatsCapiTest, CountsCallsFailuresAndBytesOnBothSides) {
  OpenClient();
  constexpr int kCalls = 25;
  const std::string payload(100, 'x');
  for (int i = 0; i < kCalls; ++i) {
    tl_response* r = nullptr;
    ASSERT_EQ(tl_client_call(client_, 0, 1,
                             reinterpret_cast<const uint8_t*>(payload.data()),
                             payload.size(), 10000, &r),
              TL_OK)
        << ThreadError();
    tl_response_free(r);
  }
  tl_response* r = nullptr;
  EXPECT_EQ(tl_client_call(client_, 0, kOpFail, nullptr, 0, 10000, &r),
            TL_E_PERMISSION_DENIED);

  tl_stats* c = ClientStats();
  EXPECT_EQ(Value(c, "calls"), kCalls + 1u);
  EXPECT_EQ(Value(c, "calls_failed"), 1u);
  EXPECT_EQ(Value(c, "calls_in_flight"), 0u);
  EXPECT_EQ(Value(c, "handshakes_full"), 1u);
  EXPECT_EQ(Value(c, "handshakes_resumed"), 0u);
  EXPECT_EQ(Value(c, "link_up"), 1u);
  EXPECT_EQ(Value(c, "link_down"), 0u);
  EXPECT_GT(Value(c, "bytes_out"), kCalls * payload.size());
  EXPECT_GT(Value(c, "bytes_in"), kCalls * payload.size());
  EXPECT_GT(Value(c, "call_latency_p50_ns"), 0u);
  EXPECT_LE(Value(c, "call_latency_p50_ns"), Value(c, "call_latency_p90_ns"));
  EXPECT_LE(Value(c, "call_latency_p90_ns"), Value(c, "call_latency_p99_ns"));
  tl_stats_free(c);

  tl_stats* s = ServerStats();
  EXPECT_EQ(Value(s, "calls"), kCalls + 1u);
  EXPECT_EQ(Value(s, "calls_failed"), 1u);
  EXPECT_EQ(Value(s, "calls_in_flight"), 0u);
  EXPECT_EQ(Value(s, "handshakes_full"), 1u);
  EXPECT_EQ(Value(s, "handshakes_resumed"), 0u);
  EXPECT_GT(Value(s, "bytes_in"), kCalls * payload.size());
  EXPECT_GT(Value(s, "bytes_out"), kCalls * payload.size());
  EXPECT_EQ(Value(s, "refused_unknown_certificate"), 0u);
  EXPECT_LE(Value(s, "call_latency_p50_ns"), Value(s, "call_latency_p99_ns"));
  tl_stats_free(s);
}

TEST_F(StatsCapiTest, CallsInFlightShowUntilAnswered) {
  OpenClient();
  std::mutex mu;
  bool done = false;
  auto cb = [](void* userdata, tl_status, const uint8_t*, size_t) {
    auto* p = static_cast<std::pair<std::mutex*, bool*>*>(userdata);
    std::lock_guard<std::mutex> lock(*p->first);
    *p->second = true;
  };
  std::pair<std::mutex*, bool*> ud{&mu, &done};
  ASSERT_EQ(
      tl_client_call_async(client_, 0, kOpHold, nullptr, 0, 10000, cb, &ud),
      TL_OK);
  tl_server_responder* held = handler_.WaitHeld();
  ASSERT_NE(held, nullptr);
  tl_stats* s = ServerStats();
  EXPECT_EQ(Value(s, "calls_in_flight"), 1u);
  EXPECT_EQ(Value(s, "calls"), 0u);
  tl_stats_free(s);
  tl_stats* c = ClientStats();
  EXPECT_EQ(Value(c, "calls_in_flight"), 1u);
  tl_stats_free(c);
  ASSERT_EQ(tl_server_responder_respond(held, TL_OK, nullptr, 0), TL_OK);
  EXPECT_EQ(WaitServer("calls", 1), 1u);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (done || absl::Now() > deadline) {
        break;
      }
    }
    absl::SleepFor(absl::Milliseconds(2));  // polling with a deadline
  }
  c = ClientStats();
  EXPECT_EQ(Value(c, "calls_in_flight"), 0u);
  EXPECT_EQ(Value(c, "calls"), 1u);
  tl_stats_free(c);
}

TEST_F(StatsCapiTest, CountsEachRefusalByItsRule) {
  srvtest::TestClientOptions stranger;
  stranger.cert_pem = ReadFixture("client_p256.cert.pem");
  stranger.key_pem = ReadFixture("client_p256.key.pem");
  Refused(stranger);
  Refused(stranger);
  srvtest::TestClientOptions wrong_ip;
  wrong_ip.cert_pem = ReadFixture("client_ed25519.cert.pem");
  wrong_ip.key_pem = ReadFixture("client_ed25519.key.pem");
  wrong_ip.source_ip = "127.0.0.2";
  Refused(wrong_ip);
  srvtest::TestClientOptions no_alpn = wrong_ip;
  no_alpn.source_ip = "";
  no_alpn.alpn = "";
  Refused(no_alpn);

  EXPECT_EQ(WaitServer("refused_unknown_certificate", 2), 2u);
  EXPECT_EQ(WaitServer("refused_ip_mismatch", 1), 1u);
  EXPECT_EQ(WaitServer("refused_alpn", 1), 1u);
  tl_stats* s = ServerStats();
  EXPECT_EQ(Value(s, "refused_unknown_certificate"), 2u);
  EXPECT_EQ(Value(s, "refused_ip_mismatch"), 1u);
  EXPECT_EQ(Value(s, "refused_alpn"), 1u);
  EXPECT_EQ(Value(s, "refused_htl"), 0u);
  EXPECT_EQ(Value(s, "refused_dns"), 0u);
  EXPECT_EQ(Value(s, "calls"), 0u);
  tl_stats_free(s);
}

TEST_F(StatsCapiTest, ListsEveryValueAndRefusesBadArguments) {
  tl_stats* s = ServerStats();
  const size_t n = tl_stats_num_values(s);
  ASSERT_GT(n, 20u);
  std::vector<std::string> names;
  for (size_t i = 0; i < n; ++i) {
    const char* name = nullptr;
    uint64_t v = 1;
    ASSERT_EQ(tl_stats_value_at(s, i, &name, &v), TL_OK);
    names.push_back(name);
    EXPECT_EQ(v, Value(s, name));
  }
  EXPECT_EQ(names.front(), "handshakes_full");
  const char* name = nullptr;
  uint64_t v = 0;
  EXPECT_EQ(tl_stats_value_at(s, n, &name, &v), TL_E_OUT_OF_RANGE);
  EXPECT_EQ(ThreadError(), "tl_stats_value_at: index " + std::to_string(n) +
                               " is out of range: the tl_stats snapshot has " +
                               std::to_string(n) + " values");
  EXPECT_EQ(tl_stats_value(s, "calls_made", &v), TL_E_NOT_FOUND);
  EXPECT_NE(ThreadError().find("no counter named 'calls_made'"),
            std::string::npos)
      << ThreadError();
  EXPECT_EQ(tl_stats_value(s, nullptr, &v), TL_E_INVALID_ARGUMENT);
  EXPECT_EQ(tl_stats_value(s, "calls", nullptr), TL_E_INVALID_ARGUMENT);
  EXPECT_EQ(tl_stats_value_at(nullptr, 0, &name, &v), TL_E_INVALID_ARGUMENT);
  EXPECT_EQ(tl_stats_num_values(nullptr), 0u);
  EXPECT_EQ(tl_server_stats(server_, nullptr), TL_E_INVALID_ARGUMENT);
  EXPECT_EQ(tl_server_stats(nullptr, &s), TL_E_INVALID_ARGUMENT);
  EXPECT_EQ(tl_client_stats(nullptr, &s), TL_E_INVALID_ARGUMENT);
  tl_stats_free(s);
  tl_stats_free(nullptr);
}

}  // namespace
