// VtlP11ProbeToken over a real tl_client against a tl_server whose "pkcs11"
// service answers per partition as the test chooses.
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "capi/tests/fixture.h"
#include "gtest/gtest.h"
extern "C" {
#include "examples/vtl/vtl_p11_probe.h"
}
#include "trustlink/trustlink.h"

// The test links with -Wl,--wrap=tl_client_stream_send, so the probe's send
// comes here. While g_hold_send_fd is set, the send first waits until that fd
// is readable: the probe's pipe, which the stream's close callback writes. So
// the order that a loaded machine produces only now and then (the server's
// close reaches the client before the probe's first byte goes out) happens on
// every run.
extern "C" tl_status __real_tl_client_stream_send(tl_client* client,
                                                  uint64_t stream,
                                                  const uint8_t* data,
                                                  size_t data_len);
namespace {
std::atomic<int> g_hold_send_fd{-1};
std::atomic<int> g_last_send{-1};
}  // namespace
extern "C" tl_status __wrap_tl_client_stream_send(tl_client* client,
                                                  uint64_t stream,
                                                  const uint8_t* data,
                                                  size_t data_len) {
  const int fd = g_hold_send_fd.load();
  if (fd >= 0) {
    pollfd p{fd, POLLIN, 0};
    poll(&p, 1, 10000);
  }
  const tl_status s =
      __real_tl_client_stream_send(client, stream, data, data_len);
  g_last_send = s;
  return s;
}

namespace {

using trustlink::capi::testing::LoopbackClientSettings;
using trustlink::capi::testing::LoopbackServerOptions;
using trustlink::capi::testing::ThreadError;

// The service, by partition: "token" answers the version byte with its own;
// "plain" has no token and closes each stream at once with TL_E_NOT_FOUND, as
// the pkcs11 appliance (capi/src/pkcs11_appliance.cc) does; "silent" never
// answers; "broken" closes with another error when the byte arrives.
struct Opened {
  std::string partition;
  tl_server_stream* stream;
};

tl_status OnOpen(void*, const char*, const char* partition,
                 tl_server_stream* stream, void** out) {
  if (std::string(partition) == "plain") {
    tl_server_stream_close(stream, TL_E_NOT_FOUND,
                           "partition 'plain' has no PKCS#11 token");
  }
  *out = new Opened{partition, stream};
  return TL_OK;
}

void OnData(void*, void* stream_userdata, const uint8_t*, size_t) {
  auto* o = static_cast<Opened*>(stream_userdata);
  if (o->partition == "token") {
    const uint8_t version = 0;
    tl_server_stream_send(o->stream, &version, 1);
  } else if (o->partition == "broken") {
    tl_server_stream_close(o->stream, TL_E_INTERNAL, "p11-kit remote died");
  }
}

void OnClose(void*, void* stream_userdata) {
  delete static_cast<Opened*>(stream_userdata);
}

class VtlP11ProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tl_server_options* opts = nullptr;
    ASSERT_EQ(LoopbackServerOptions(1, &opts), TL_OK) << ThreadError();
    for (const char* p : {"token", "plain", "silent", "broken"}) {
      ASSERT_EQ(tl_server_options_assign_partition(opts, "web1", p, p, p),
                TL_OK);
    }
    ASSERT_EQ(tl_server_new(opts, &server_), TL_OK);
    tl_server_options_free(opts);
    ASSERT_EQ(tl_server_add_stream_service(server_, "pkcs11", OnOpen, OnData,
                                           OnClose, nullptr),
              TL_OK);
    ASSERT_EQ(tl_server_start(server_), TL_OK);
    uint16_t port = 0;
    ASSERT_EQ(tl_server_port(server_, &port), TL_OK);

    tl_client_settings* settings = nullptr;
    ASSERT_EQ(LoopbackClientSettings(port, &settings), TL_OK) << ThreadError();
    ASSERT_EQ(tl_client_open(settings, &client_), TL_OK);
    tl_client_settings_free(settings);
    ASSERT_EQ(tl_client_wait_ready(client_, 10000), TL_OK);
    ASSERT_EQ(pipe(fds_), 0);
  }

  void TearDown() override {
    g_hold_send_fd = -1;
    tl_client_close(client_);
    // Only now: a late stream callback may write to the pipe until the client
    // is closed.
    close(fds_[0]);
    close(fds_[1]);
    if (server_ != nullptr) {
      tl_server_stop(server_, 1000);
      tl_server_free(server_);
    }
  }

  int32_t Slot(const std::string& partition) {
    tl_slot_list* slots = nullptr;
    int32_t id = -1;
    if (tl_client_slots(client_, &slots) != TL_OK) {
      return -1;
    }
    for (size_t i = 0; i < tl_slot_list_count(slots); ++i) {
      int32_t slot = 0, state = 0;
      if (partition == tl_slot_list_partition(slots, i) &&
          tl_slot_list_get(slots, i, &slot, &state) == TL_OK) {
        id = slot;
      }
    }
    tl_slot_list_free(slots);
    return id;
  }

  tl_server* server_ = nullptr;
  tl_client* client_ = nullptr;
  int fds_[2] = {-1, -1};
};

TEST_F(VtlP11ProbeTest, TokenAnswers) {
  EXPECT_EQ(VtlP11ProbeToken(client_, Slot("token"), fds_, 10000), 1);
}

TEST_F(VtlP11ProbeTest, NoTokenIsNoTokenWhenTheCloseComesFirst) {
  g_hold_send_fd = fds_[0];
  EXPECT_EQ(VtlP11ProbeToken(client_, Slot("plain"), fds_, 10000), 0);
  // The hold worked: the send found the stream already closed.
  EXPECT_EQ(g_last_send.load(), TL_E_NOT_FOUND);
}

TEST_F(VtlP11ProbeTest, NoTokenIsNoTokenInAnyOrder) {
  EXPECT_EQ(VtlP11ProbeToken(client_, Slot("plain"), fds_, 10000), 0);
}

TEST_F(VtlP11ProbeTest, SilentPartitionDoesNotAnswer) {
  EXPECT_EQ(VtlP11ProbeToken(client_, Slot("silent"), fds_, 300), -1);
}

TEST_F(VtlP11ProbeTest, OtherCloseIsNotNoToken) {
  EXPECT_EQ(VtlP11ProbeToken(client_, Slot("broken"), fds_, 10000), -1);
}

TEST_F(VtlP11ProbeTest, UnknownSlotFailsAtOnce) {
  EXPECT_EQ(VtlP11ProbeToken(client_, 99, fds_, 10000), -1);
}

}  // namespace
