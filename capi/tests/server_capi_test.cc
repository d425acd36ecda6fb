#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "capi/tests/fixture.h"
#include "gtest/gtest.h"
#include "ntl/server/test_client.h"
#include "ntl/wire/messages.h"
#include "trustlink/trustlink.h"

namespace {

using trustlink::capi::testing::LoopbackServerOptions;
using trustlink::capi::testing::ReadFixture;
using trustlink::capi::testing::ThreadError;

// Reverse answers from another thread, as a slow partition would.
void Reverse(void* userdata, const char* client_label, const char* partition,
             uint32_t op, const uint8_t* data, size_t data_len,
             tl_server_responder* responder) {
  static_cast<int*>(userdata)[0]++;
  std::string d(reinterpret_cast<const char*>(data), data_len);
  std::string who =
      std::string(client_label) + "/" + partition + "/" + std::to_string(op);
  std::thread([responder, d, who] {
    std::string out(d.rbegin(), d.rend());
    out += " " + who;
    tl_server_responder_respond(responder, TL_OK,
                                reinterpret_cast<const uint8_t*>(out.data()),
                                out.size());
  }).detach();
}

struct StreamLog {
  int opened = 0;
  int closed = 0;
};

tl_status StreamOpen(void* userdata, const char*, const char* partition,
                     tl_server_stream* stream, void** out) {
  if (std::string(partition) != "p1") {
    return TL_E_PERMISSION_DENIED;
  }
  static_cast<StreamLog*>(userdata)->opened++;
  *out = stream;
  return TL_OK;
}

void StreamData(void*, void* stream_userdata, const uint8_t* data, size_t len) {
  auto* stream = static_cast<tl_server_stream*>(stream_userdata);
  if (len == 3 &&
      std::string(reinterpret_cast<const char*>(data), 3) == "end") {
    tl_server_stream_close(stream, TL_OK, "done");
    return;
  }
  tl_server_stream_send(stream, data, len);
}

void StreamClosed(void* userdata, void*) {
  static_cast<StreamLog*>(userdata)->closed++;
}

// tl_server_new reads its options, which other threads may be reading too: its
// failure goes to the calling thread (tl_last_error), never into the options.
TEST(ServerCapiTest, NewReportsItsFailureOnTheThreadNotInItsOptions) {
  tl_server_options* opts = nullptr;
  ASSERT_EQ(tl_server_options_new(&opts), TL_OK);
  tl_server* server = nullptr;
  EXPECT_EQ(tl_server_new(opts, &server), TL_E_FAILED_PRECONDITION);
  EXPECT_EQ(server, nullptr);
  char msg[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  ASSERT_EQ(tl_last_error(msg, sizeof(msg), &len), TL_OK);
  EXPECT_NE(std::string(msg).find("tl_server_options_set_certificate"),
            std::string::npos)
      << msg;
  ASSERT_EQ(tl_server_options_last_error(opts, msg, sizeof(msg), &len), TL_OK);
  EXPECT_EQ(std::string(msg), "") << "tl_server_new wrote into its options";
  tl_server_options_free(opts);
}

TEST(ServerCapiTest, BuildStartCallStatusStop) {
  tl_server_options* opts = nullptr;
  ASSERT_EQ(tl_server_options_new(&opts), TL_OK);
  ASSERT_EQ(tl_server_options_set_listen(opts, "127.0.0.1", 0), TL_OK);
  ASSERT_EQ(tl_server_options_set_threads(opts, 1), TL_OK);
  EXPECT_EQ(tl_server_options_set_certificate(opts, "junk", "junk"),
            TL_E_CERT_INVALID);
  ASSERT_EQ(tl_server_options_set_certificate(
                opts, ReadFixture("server_ed25519.cert.pem").c_str(),
                ReadFixture("server_ed25519.key.pem").c_str()),
            TL_OK);
  const std::string client_cert = ReadFixture("client_ed25519.cert.pem");
  ASSERT_EQ(tl_server_options_add_client(opts, "web1", client_cert.c_str(),
                                         "127.0.0.1", 0),
            TL_OK);
  EXPECT_EQ(tl_server_options_assign_partition(opts, "nobody", "p1", "P1", "1"),
            TL_E_NOT_FOUND);
  char msg[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  ASSERT_EQ(tl_server_options_last_error(opts, msg, sizeof(msg), &len), TL_OK);
  EXPECT_NE(std::string(msg).find("nobody"), std::string::npos);
  ASSERT_EQ(
      tl_server_options_assign_partition(opts, "web1", "p1", "P1", "1001"),
      TL_OK);
  tl_server* server = nullptr;
  ASSERT_EQ(tl_server_new(opts, &server), TL_OK);
  tl_server_options_free(opts);
  int calls = 0;
  ASSERT_EQ(tl_server_set_request_handler(server, Reverse, &calls), TL_OK);
  StreamLog streams;
  ASSERT_EQ(tl_server_add_stream_service(server, "echo", StreamOpen, StreamData,
                                         StreamClosed, &streams),
            TL_OK);
  ASSERT_EQ(tl_server_start(server), TL_OK);
  uint16_t port = 0;
  ASSERT_EQ(tl_server_port(server, &port), TL_OK);

  trustlink::ntl::server::testing::TestClientOptions o;
  o.cert_pem = client_cert;
  o.key_pem = ReadFixture("client_ed25519.key.pem");
  auto c = trustlink::ntl::server::testing::TestClient::Connect(port, o);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE((*c)->Hello().ok());
  auto r = (*c)->Call("p1", 7, "abc");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->second, "cba web1/p1/7");
  EXPECT_EQ(calls, 1);

  namespace wire = trustlink::ntl::wire;
  ASSERT_TRUE((*c)->Send(wire::FrameType::kStreamOpen, 9,
                         wire::EncodeStreamOpen({"p1", "echo"}))
                  .ok());
  ASSERT_TRUE((*c)->Send(wire::FrameType::kStreamData, 9, "ping").ok());
  auto f = (*c)->Read();
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->type, wire::FrameType::kStreamData);
  EXPECT_EQ(f->payload, "ping");
  ASSERT_TRUE((*c)->Send(wire::FrameType::kStreamData, 9, "end").ok());
  f = (*c)->Read();
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->type, wire::FrameType::kStreamClose);
  EXPECT_EQ(streams.opened, 1);
  EXPECT_EQ(streams.closed, 1);

  tl_server_status* st = nullptr;
  ASSERT_EQ(tl_server_status_new(server, &st), TL_OK);
  size_t n = 0;
  ASSERT_EQ(tl_server_status_num_clients(st, &n), TL_OK);
  ASSERT_EQ(n, 1u);
  const char* label = nullptr;
  const char* fp = nullptr;
  uint32_t conns = 0;
  ASSERT_EQ(tl_server_status_client(st, 0, &label, &fp, &conns), TL_OK);
  EXPECT_STREQ(label, "web1");
  EXPECT_EQ(conns, 1u);
  EXPECT_EQ(tl_server_status_client(st, 7, &label, &fp, &conns),
            TL_E_OUT_OF_RANGE);
  EXPECT_EQ(trustlink::capi::testing::ThreadError(),
            "tl_server_status_client: index 7 is out of range: the "
            "tl_server_status has 1 client");
  tl_server_status_free(st);
  EXPECT_EQ(tl_server_stop(server, 1000), TL_OK);
  tl_server_free(server);
  tl_server_free(nullptr);
}

TEST(ServerCapiTest, LinkLimitsCapOneClientsLinks) {
  EXPECT_EQ(tl_server_options_set_link_limits(nullptr, 0, 1),
            TL_E_INVALID_ARGUMENT);
  tl_server_options* opts = nullptr;
  ASSERT_EQ(LoopbackServerOptions(1, &opts), TL_OK) << ThreadError();
  ASSERT_EQ(tl_server_options_set_link_limits(opts, 0, 1), TL_OK);
  tl_server* server = nullptr;
  ASSERT_EQ(tl_server_new(opts, &server), TL_OK);
  tl_server_options_free(opts);
  ASSERT_EQ(tl_server_start(server), TL_OK);
  uint16_t port = 0;
  ASSERT_EQ(tl_server_port(server, &port), TL_OK);
  trustlink::ntl::server::testing::TestClientOptions o;
  o.cert_pem = ReadFixture("client_ed25519.cert.pem");
  o.key_pem = ReadFixture("client_ed25519.key.pem");
  auto first = trustlink::ntl::server::testing::TestClient::Connect(port, o);
  ASSERT_TRUE(first.ok()) << first.status();
  auto w = (*first)->Hello();
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->type, trustlink::ntl::wire::FrameType::kWelcome);
  auto second = trustlink::ntl::server::testing::TestClient::Connect(port, o);
  ASSERT_TRUE(second.ok()) << second.status();
  auto g = (*second)->Hello();
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_EQ(g->type, trustlink::ntl::wire::FrameType::kGoAway);
  EXPECT_EQ(trustlink::ntl::wire::DecodeClosing(g->payload)->status,
            TL_E_RESOURCE_EXHAUSTED);
  tl_server_stop(server, 1000);
  tl_server_free(server);
}

}  // namespace
