// tl_client_stream_send on a stream the server has already closed, between
// the C ABI client and server: what client.h promises about it.
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>

#include "capi/tests/fixture.h"
#include "gtest/gtest.h"
#include "trustlink/trustlink.h"

namespace {

using trustlink::capi::testing::LoopbackClientSettings;
using trustlink::capi::testing::LoopbackServerOptions;
using trustlink::capi::testing::ThreadError;

// CloseAtOnce accepts every stream and closes it with a reason before the
// client can send, as the pkcs11 appliance does for a partition without a
// token.
tl_status CloseAtOnce(void*, const char*, const char*, tl_server_stream* stream,
                      void** out) {
  tl_server_stream_close(stream, TL_E_NOT_FOUND, "no token here");
  *out = nullptr;
  return TL_OK;
}
void IgnoreData(void*, void*, const uint8_t*, size_t) {}
void IgnoreClose(void*, void*) {}

struct Closes {
  std::mutex mu;
  std::condition_variable cv;
  int count = 0;
  tl_status status = TL_OK;
  std::string message;
};

void OnData(void*, const uint8_t*, size_t) {}
void OnClose(void* userdata, tl_status status, const char* message) {
  auto* c = static_cast<Closes*>(userdata);
  std::lock_guard<std::mutex> lock(c->mu);
  ++c->count;
  c->status = status;
  c->message = message;
  c->cv.notify_all();
}

// Pair is a C ABI server with one client "web1" (partitions p1 and p2) whose
// pkcs11 stream service is `open_fn`, and a connected C ABI client.
struct Pair {
  tl_server* server = nullptr;
  tl_client* client = nullptr;
};

void StartPair(tl_server_stream_open_fn open_fn, Pair* out) {
  tl_server_options* opts = nullptr;
  ASSERT_EQ(LoopbackServerOptions(1, &opts), TL_OK) << ThreadError();
  ASSERT_EQ(
      tl_server_options_assign_partition(opts, "web1", "p1", "P1", "1001"),
      TL_OK);
  ASSERT_EQ(
      tl_server_options_assign_partition(opts, "web1", "p2", "P2", "1002"),
      TL_OK);
  tl_server* server = nullptr;
  ASSERT_EQ(tl_server_new(opts, &server), TL_OK);
  tl_server_options_free(opts);
  ASSERT_EQ(tl_server_add_stream_service(server, "pkcs11", open_fn, IgnoreData,
                                         IgnoreClose, nullptr),
            TL_OK);
  ASSERT_EQ(tl_server_start(server), TL_OK);
  uint16_t port = 0;
  ASSERT_EQ(tl_server_port(server, &port), TL_OK);

  tl_client_settings* settings = nullptr;
  ASSERT_EQ(LoopbackClientSettings(port, &settings), TL_OK) << ThreadError();
  tl_client* client = nullptr;
  ASSERT_EQ(tl_client_open(settings, &client), TL_OK);
  tl_client_settings_free(settings);
  ASSERT_EQ(tl_client_wait_ready(client, 10000), TL_OK);

  out->server = server;
  out->client = client;
}

TEST(ClientStreamCapiTest, SendAfterServerCloseIsNotFoundAndReasonArrives) {
  Pair pair;
  StartPair(CloseAtOnce, &pair);
  ASSERT_NE(pair.client, nullptr);
  tl_server* server = pair.server;
  tl_client* client = pair.client;

  Closes closes;
  uint64_t stream = 0;
  ASSERT_EQ(tl_client_stream_open(client, 0, "pkcs11", OnData, OnClose, &closes,
                                  &stream),
            TL_OK);
  {
    std::unique_lock<std::mutex> lock(closes.mu);
    ASSERT_TRUE(closes.cv.wait_for(lock, std::chrono::seconds(10),
                                   [&] { return closes.count > 0; }));
  }
  const uint8_t byte = 0;
  EXPECT_EQ(tl_client_stream_send(client, stream, &byte, 1), TL_E_NOT_FOUND);
  EXPECT_EQ(tl_client_stream_close(client, stream), TL_OK);
  tl_client_close(client);
  std::lock_guard<std::mutex> lock(closes.mu);
  EXPECT_EQ(closes.count, 1);
  EXPECT_EQ(closes.status, TL_E_NOT_FOUND);
  EXPECT_NE(closes.message.find("no token here"), std::string::npos)
      << closes.message;
  EXPECT_EQ(tl_server_stop(server, 1000), TL_OK);
  tl_server_free(server);
}

// CloseWithPartitions closes every stream with a message that lists what the
// open callback was given: the partition argument and the covered partitions.
tl_status CloseWithPartitions(void*, const char*, const char* partition,
                              tl_server_stream* stream, void** out) {
  std::string message = std::string("partition='") + partition + "' covers:";
  size_t n = 0;
  tl_server_stream_num_partitions(stream, &n);
  for (size_t i = 0; i < n; ++i) {
    const char* p = nullptr;
    if (tl_server_stream_partition(stream, i, &p) == TL_OK) {
      message += std::string(" ") + p;
    }
  }
  const char* beyond = nullptr;
  if (tl_server_stream_partition(stream, n, &beyond) == TL_E_INVALID_ARGUMENT) {
    message +=
        " (index n refused: " + trustlink::capi::testing::ThreadError() + ")";
  }
  tl_server_stream_close(stream, TL_E_NOT_FOUND, message.c_str());
  *out = nullptr;
  return TL_OK;
}

// A client-wide stream (tl_client_server_stream_open) reaches the service with
// an empty partition and every assigned partition; a slot's stream with one.
TEST(ClientStreamCapiTest, ServerStreamCoversEveryAssignedPartition) {
  Pair pair;
  StartPair(CloseWithPartitions, &pair);
  ASSERT_NE(pair.client, nullptr);
  uint64_t stream = 0;
  Closes wide;
  ASSERT_EQ(tl_client_server_stream_open(pair.client, 0, "pkcs11", OnData,
                                         OnClose, &wide, &stream),
            TL_OK);
  Closes one;
  ASSERT_EQ(tl_client_stream_open(pair.client, 0, "pkcs11", OnData, OnClose,
                                  &one, &stream),
            TL_OK);
  EXPECT_EQ(tl_client_server_stream_open(pair.client, 5, "pkcs11", OnData,
                                         OnClose, &one, &stream),
            TL_E_NOT_FOUND);
  for (Closes* c : {&wide, &one}) {
    std::unique_lock<std::mutex> lock(c->mu);
    ASSERT_TRUE(c->cv.wait_for(lock, std::chrono::seconds(10),
                               [&] { return c->count > 0; }));
  }
  EXPECT_NE(wide.message.find(
                "partition='' covers: p1 p2 (index n refused: "
                "tl_server_stream_partition: partition index 2 is out of "
                "range: the tl_server_stream has 2 partitions)"),
            std::string::npos)
      << wide.message;
  EXPECT_NE(one.message.find(
                "partition='p1' covers: p1 (index n refused: "
                "tl_server_stream_partition: partition index 1 is out of "
                "range: the tl_server_stream has 1 partition)"),
            std::string::npos)
      << one.message;
  tl_client_close(pair.client);
  EXPECT_EQ(tl_server_stop(pair.server, 1000), TL_OK);
  tl_server_free(pair.server);
}

}  // namespace
