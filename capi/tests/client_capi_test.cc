// The client C ABI end to end against the fake NTLS peer: open, slots, blocking
// and async calls, fd/process mode, per-server state, streams and verify
// results.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "capi/tests/fixture.h"
#include "gtest/gtest.h"
#include "ntl/client/testing/fake_server.h"
#include "ntl/client/testing/test_util.h"
#include "trustlink/trustlink.h"

namespace {

using trustlink::capi::testing::ThreadError;
using trustlink::ntl::client::testing::FakeServer;
using trustlink::ntl::client::testing::kOpEcho;
using trustlink::ntl::client::testing::kOpHold;
using trustlink::ntl::client::testing::ReadTestFile;
using trustlink::ntl::client::testing::ServerOptions;

std::string LastError(const tl_client* c) {
  char buf[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  return tl_client_last_error(c, buf, sizeof(buf), &len) == TL_OK
             ? std::string(buf, len)
             : "?";
}

class ClientCapiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto o = ServerOptions();
    o.slots = {{"p1", "label one", "S1"}};
    auto s = FakeServer::Start(std::move(o));
    ASSERT_TRUE(s.ok());
    server_ = std::move(*s);
    ASSERT_EQ(tl_client_settings_new(&settings_), TL_OK);
    const std::string pin =
        ReadTestFile("testdata/tls/server_ed25519.cert.pem");
    ASSERT_EQ(tl_client_settings_add_server(settings_, "hsm1", "127.0.0.1",
                                            server_->port(), 0, pin.c_str()),
              TL_OK);
    const std::string cert =
        ReadTestFile("testdata/tls/client_ed25519.cert.pem");
    const std::string key = ReadTestFile("testdata/tls/client_ed25519.key.pem");
    ASSERT_EQ(tl_client_settings_set_identity_pem(settings_, cert.c_str(),
                                                  key.c_str()),
              TL_OK);
  }
  void TearDown() override { tl_client_settings_free(settings_); }

  std::unique_ptr<FakeServer> server_;
  tl_client_settings* settings_ = nullptr;
};

TEST_F(ClientCapiTest, OpensListsSlotsAndCalls) {
  tl_client* c = nullptr;
  ASSERT_EQ(tl_client_open(settings_, &c), TL_OK);
  // Open waits a few seconds at most; a sanitizer build on a busy host can take
  // longer.
  ASSERT_EQ(tl_client_wait_ready(c, 10000), TL_OK);
  tl_slot_list* slots = nullptr;
  ASSERT_EQ(tl_client_slots(c, &slots), TL_OK);
  ASSERT_EQ(tl_slot_list_count(slots), 1u);
  int32_t id = -1;
  int32_t state = -1;
  ASSERT_EQ(tl_slot_list_get(slots, 0, &id, &state), TL_OK);
  EXPECT_EQ(id, 0);
  EXPECT_EQ(state, TL_SLOT_READY);
  EXPECT_STREQ(tl_slot_list_server(slots, 0), "hsm1");
  EXPECT_STREQ(tl_slot_list_partition(slots, 0), "p1");
  EXPECT_STREQ(tl_slot_list_label(slots, 0), "label one");
  EXPECT_EQ(tl_slot_list_get(slots, 3, &id, &state), TL_E_OUT_OF_RANGE);
  EXPECT_EQ(ThreadError(),
            "tl_slot_list_get: index 3 is out of range: the tl_slot_list has "
            "1 slot");
  EXPECT_STREQ(tl_slot_list_serial(slots, 0), "S1");
  EXPECT_EQ(tl_slot_list_partition(slots, 1), nullptr);
  tl_slot_list_free(slots);

  tl_response* resp = nullptr;
  const uint8_t data[] = {'h', 'i'};
  ASSERT_EQ(tl_client_call(c, 0, kOpEcho, data, sizeof(data), 5000, &resp),
            TL_OK)
      << LastError(c);
  ASSERT_EQ(tl_response_len(resp), 2u);
  EXPECT_EQ(
      std::string(reinterpret_cast<const char*>(tl_response_data(resp)), 2),
      "hi");
  tl_response_free(resp);

  resp = nullptr;
  EXPECT_EQ(tl_client_call(c, 0, kOpHold, data, sizeof(data), 100, &resp),
            TL_E_DEADLINE_EXCEEDED);
  EXPECT_EQ(resp, nullptr);
  EXPECT_NE(LastError(c).find("deadline"), std::string::npos);

  size_t n = 0;
  ASSERT_EQ(tl_client_server_count(c, &n), TL_OK);
  ASSERT_EQ(n, 1u);
  tl_status last = -1;
  ASSERT_EQ(tl_client_server_state(c, 0, &state, &last), TL_OK);
  EXPECT_EQ(state, TL_LINK_READY);
  EXPECT_EQ(last, TL_OK);
  char name[64];
  size_t len = 0;
  ASSERT_EQ(tl_client_server_name(c, 0, name, sizeof(name), &len), TL_OK);
  EXPECT_STREQ(name, "hsm1");
  // A ready server's error is "": copied without reading the empty message's
  // (null) data, which UBSan reports under --config=asan.
  char error[8] = "x";
  ASSERT_EQ(tl_client_server_error(c, 0, error, sizeof(error), &len), TL_OK);
  EXPECT_EQ(len, 0u);
  EXPECT_STREQ(error, "");
  EXPECT_EQ(tl_client_server_state(c, 5, &state, &last), TL_E_OUT_OF_RANGE);
  EXPECT_NE(ThreadError().find(
                "server index 5 is out of range: the client has 1 server"),
            std::string::npos)
      << ThreadError();
  tl_client_close(c);
  tl_client_close(nullptr);
}

struct AsyncResult {
  std::atomic<int> calls{0};
  std::atomic<tl_status> status{-1};
  std::string data;
};

void OnResult(void* userdata, tl_status status, const uint8_t* data,
              size_t len) {
  auto* r = static_cast<AsyncResult*>(userdata);
  r->data.assign(reinterpret_cast<const char*>(data), len);
  r->status.store(status);
  r->calls.fetch_add(1);
}

TEST_F(ClientCapiTest, FdModeAsyncCallCompletesInProcess) {
  ASSERT_EQ(tl_client_settings_set_no_threads(settings_, 1), TL_OK);
  tl_client* c = nullptr;
  ASSERT_EQ(tl_client_open(settings_, &c), TL_OK);
  ASSERT_EQ(tl_client_wait_ready(c, 10000), TL_OK) << LastError(c);
  int fd = -1;
  ASSERT_EQ(tl_client_fd(c, &fd), TL_OK);
  AsyncResult result;
  const uint8_t data[] = {'x'};
  ASSERT_EQ(
      tl_client_call_async(c, 0, kOpEcho, data, 1, 5000, OnResult, &result),
      TL_OK);
  for (int i = 0; i < 200 && result.calls.load() == 0; ++i) {
    pollfd p{fd, POLLIN, 0};
    poll(&p, 1, 50);
    ASSERT_EQ(tl_client_process(c, 0), TL_OK);
  }
  EXPECT_EQ(result.calls.load(), 1);
  EXPECT_EQ(result.status.load(), TL_OK);
  EXPECT_EQ(result.data, "x");
  tl_client_close(c);
}

TEST_F(ClientCapiTest, CloseCancelsAsyncCalls) {
  tl_client* c = nullptr;
  ASSERT_EQ(tl_client_open(settings_, &c), TL_OK);
  AsyncResult result;
  ASSERT_EQ(tl_client_call_async(c, 0, kOpHold, nullptr, 0,
                                 TL_CLIENT_NO_TIMEOUT, OnResult, &result),
            TL_OK);
  tl_client_close(c);
  EXPECT_EQ(result.calls.load(), 1);
  EXPECT_EQ(result.status.load(), TL_E_CANCELLED);
}

TEST_F(ClientCapiTest, VerifyReturnsResultsAsData) {
  const std::string pin = ReadTestFile("testdata/tls/server_p256.cert.pem");
  ASSERT_EQ(tl_client_settings_add_server(settings_, "wrongpin", "127.0.0.1",
                                          server_->port(), 0, pin.c_str()),
            TL_OK);
  tl_verify_results* r = nullptr;
  ASSERT_EQ(tl_client_verify(settings_, 5000, &r), TL_OK);
  ASSERT_EQ(tl_verify_results_count(r), 2u);
  EXPECT_EQ(tl_verify_results_num_failed(r), 1u);
  tl_status outcome = -1;
  uint16_t port = 0;
  size_t num_slots = 0;
  ASSERT_EQ(tl_verify_results_get(r, 0, &outcome, &port, &num_slots), TL_OK);
  EXPECT_EQ(outcome, TL_OK);
  EXPECT_EQ(port, server_->port());
  EXPECT_EQ(num_slots, 1u);
  EXPECT_STREQ(tl_verify_results_slot_partition(r, 0, 0), "p1");
  ASSERT_EQ(tl_verify_results_get(r, 1, &outcome, &port, &num_slots), TL_OK);
  EXPECT_EQ(outcome, TL_E_CERT_PIN_MISMATCH);
  EXPECT_STREQ(tl_verify_results_server(r, 1), "wrongpin");
  EXPECT_NE(std::string(tl_verify_results_message(r, 1)).find("SHA256"),
            std::string::npos);
  EXPECT_EQ(tl_verify_results_get(r, 2, &outcome, &port, &num_slots),
            TL_E_OUT_OF_RANGE);
  EXPECT_EQ(ThreadError(),
            "tl_verify_results_get: index 2 is out of range: the "
            "tl_verify_results has 2 results");
  tl_verify_results_free(r);
}

TEST_F(ClientCapiTest, BadSettingsAreRefusedWithAMessage) {
  EXPECT_EQ(tl_client_settings_add_server(settings_, "x", nullptr, 1792, 0,
                                          "not pem"),
            TL_E_CERT_INVALID);
  EXPECT_EQ(
      tl_client_settings_add_server(settings_, "x", nullptr, 0, 0, nullptr),
      TL_E_INVALID_ARGUMENT);
  tl_client_settings* empty = nullptr;
  ASSERT_EQ(tl_client_settings_new(&empty), TL_OK);
  tl_client* c = nullptr;
  EXPECT_EQ(tl_client_open(empty, &c), TL_E_CONFIG_INVALID);
  EXPECT_EQ(c, nullptr);
  char buf[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  ASSERT_EQ(tl_last_error(buf, sizeof(buf), &len), TL_OK);
  EXPECT_NE(std::string(buf).find("tl_client_settings_add_server"),
            std::string::npos);
  tl_client_settings_free(empty);
}

// AcceptWithin accepts one connection on `listener` while driving `c`'s loop
// (no library threads) until `deadline_ms` pass; returns its fd or -1.
int AcceptWithin(int listener, tl_client* c, int deadline_ms) {
  for (int waited = 0; waited < deadline_ms; waited += 10) {
    const int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
      return fd;
    }
    tl_client_process(c, 10);  // waits on the client's own descriptor
  }
  return -1;
}

TEST_F(ClientCapiTest, DialsPerAddressQueuesTheOtherLinksInOrder) {
  EXPECT_EQ(tl_client_settings_set_dials_per_address(settings_, 0),
            TL_E_INVALID_ARGUMENT);
  char buf[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  ASSERT_EQ(tl_client_settings_last_error(settings_, buf, sizeof(buf), &len),
            TL_OK);
  EXPECT_NE(std::string(buf).find("1 to 1024"), std::string::npos) << buf;
  // A listener that accepts and never speaks TLS: an attempt holds its slot
  // until the test closes the connection.
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof(a);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(listen(listener, 16), 0);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&a), &alen), 0);
  fcntl(listener, F_SETFL, O_NONBLOCK);
  const std::string pin = ReadTestFile("testdata/tls/server_ed25519.cert.pem");
  for (const char* name : {"silent1", "silent2"}) {
    ASSERT_EQ(tl_client_settings_add_server(settings_, name, "127.0.0.1",
                                            ntohs(a.sin_port), 0, pin.c_str()),
              TL_OK);
  }
  ASSERT_EQ(tl_client_settings_set_dials_per_address(settings_, 1), TL_OK);
  ASSERT_EQ(tl_client_settings_set_no_threads(settings_, 1), TL_OK);
  ASSERT_EQ(tl_client_settings_set_timeouts(settings_, 60000, 10000, 30000),
            TL_OK);
  tl_client* c = nullptr;
  ASSERT_EQ(tl_client_open(settings_, &c), TL_OK);
  const int first = AcceptWithin(listener, c, 10000);
  ASSERT_GE(first, 0) << "the first silent server was never dialled";
  // The second waits for the first's slot: 300 ms of the client's loop
  // bring no second connection (with the default limit it comes at once).
  const int early = AcceptWithin(listener, c, 300);
  EXPECT_LT(early, 0) << "two attempts to one address with a limit of 1";
  // The first attempt fails (the peer closed): its slot passes on at once.
  close(first);
  const int second = AcceptWithin(listener, c, 10000);
  EXPECT_GE(second, 0) << "the queued link never started";
  for (int fd : {early, second, listener}) {
    if (fd >= 0) close(fd);
  }
  tl_client_close(c);
}

TEST_F(ClientCapiTest, HtlServerWithoutAnAgentSaysToStartHtlclient) {
  tl_client_settings* s = nullptr;
  ASSERT_EQ(tl_client_settings_new(&s), TL_OK);
  const std::string pin = ReadTestFile("testdata/tls/server_ed25519.cert.pem");
  ASSERT_EQ(tl_client_settings_add_server(s, "hsm1", "127.0.0.1",
                                          server_->port(), 1, pin.c_str()),
            TL_OK);
  const std::string cert = ReadTestFile("testdata/tls/client_ed25519.cert.pem");
  const std::string key = ReadTestFile("testdata/tls/client_ed25519.key.pem");
  ASSERT_EQ(tl_client_settings_set_identity_pem(s, cert.c_str(), key.c_str()),
            TL_OK);
  const std::string sock =
      std::string(getenv("TEST_TMPDIR")) + "/no-agent-here.sock";
  ASSERT_EQ(tl_client_settings_set_htl_proof_socket(s, sock.c_str()), TL_OK);
  EXPECT_EQ(tl_client_settings_set_htl_proof_timeout(s, 0),
            TL_E_INVALID_ARGUMENT);
  ASSERT_EQ(tl_client_settings_set_htl_proof_timeout(s, 500), TL_OK);
  ASSERT_EQ(tl_client_settings_set_reconnect(s, 0, 100, 200), TL_OK);
  tl_client* c = nullptr;
  ASSERT_EQ(tl_client_open(s, &c), TL_OK);
  int32_t state = -1;
  tl_status last = TL_OK;
  ASSERT_EQ(tl_client_server_state(c, 0, &state, &last), TL_OK);
  EXPECT_NE(state, TL_LINK_READY);
  EXPECT_EQ(last, TL_E_HTL_AGENT_UNAVAILABLE);
  char msg[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  ASSERT_EQ(tl_client_server_error(c, 0, msg, sizeof(msg), &len), TL_OK);
  EXPECT_NE(std::string(msg).find("start the HTL agent"), std::string::npos)
      << msg;
  EXPECT_NE(std::string(msg).find(sock), std::string::npos) << msg;
  tl_client_close(c);
  tl_client_settings_free(s);
}

}  // namespace
