// Busy-poll through the C ABI (tl_client_settings_set_busy_poll,
// tl_server_options_set_busy_poll): a budget over TL_BUSY_POLL_MAX_US is
// refused naming the limit; by default neither side polls without blocking;
// on, both do, on one-call-at-a-time round trips.
#include <cstdint>
#include <string>

#include "capi/tests/fixture.h"
#include "gtest/gtest.h"
#include "ntl/internal/timed_wait_counter.h"
#include "trustlink/trustlink.h"

namespace {

using trustlink::capi::testing::LoopbackClientSettings;
using trustlink::capi::testing::LoopbackServerOptions;
using trustlink::capi::testing::ThreadError;
using trustlink::ntl::internal::CountedThreads;
using trustlink::ntl::internal::CountNewOn;
using trustlink::ntl::internal::NonBlockingWaits;

void Echo(void*, const char*, const char*, uint32_t, const uint8_t* data,
          size_t data_len, tl_server_responder* responder) {
  tl_server_responder_respond(responder, TL_OK, data, data_len);
}

std::string SettingsError(const tl_client_settings* s) {
  char buf[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  return tl_client_settings_last_error(s, buf, sizeof(buf), &len) == TL_OK
             ? std::string(buf, len)
             : "?";
}

std::string OptionsError(const tl_server_options* o) {
  char buf[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  return tl_server_options_last_error(o, buf, sizeof(buf), &len) == TL_OK
             ? std::string(buf, len)
             : "?";
}

TEST(BusyPollCapiTest, ABudgetOverTheLimitIsRefusedNamingIt) {
  tl_client_settings* s = nullptr;
  ASSERT_EQ(tl_client_settings_new(&s), TL_OK);
  EXPECT_EQ(tl_client_settings_set_busy_poll(s, TL_BUSY_POLL_MAX_US + 1),
            TL_E_INVALID_ARGUMENT);
  EXPECT_NE(SettingsError(s).find("limit of 1000"), std::string::npos)
      << SettingsError(s);
  EXPECT_EQ(tl_client_settings_set_busy_poll(s, TL_BUSY_POLL_MAX_US), TL_OK);
  EXPECT_EQ(tl_client_settings_set_busy_poll(s, 0), TL_OK);
  EXPECT_EQ(tl_client_settings_set_busy_poll(nullptr, 50),
            TL_E_INVALID_ARGUMENT);
  tl_client_settings_free(s);

  tl_server_options* o = nullptr;
  ASSERT_EQ(tl_server_options_new(&o), TL_OK);
  EXPECT_EQ(tl_server_options_set_busy_poll(o, 5000), TL_E_INVALID_ARGUMENT);
  EXPECT_NE(OptionsError(o).find("busy-poll budget of 5000 microseconds"),
            std::string::npos)
      << OptionsError(o);
  EXPECT_NE(OptionsError(o).find("limit of 1000"), std::string::npos)
      << OptionsError(o);
  EXPECT_EQ(tl_server_options_set_busy_poll(o, 50), TL_OK);
  EXPECT_EQ(tl_server_options_set_busy_poll(nullptr, 50),
            TL_E_INVALID_ARGUMENT);
  tl_server_options_free(o);
}

// Polls counts the non-blocking polls of `on` threads during `calls` lone
// echoes between a tl_server and a tl_client, both with busy-poll `budget_us`
// (when `set`, else left at their defaults).
uint64_t Polls(bool set, uint32_t budget_us, CountNewOn on, int calls) {
  tl_server_options* opts = nullptr;
  EXPECT_EQ(LoopbackServerOptions(1, &opts), TL_OK) << ThreadError();
  EXPECT_EQ(tl_server_options_assign_partition(opts, "web1", "p1", "P1", "1"),
            TL_OK);
  if (set) {
    EXPECT_EQ(tl_server_options_set_busy_poll(opts, budget_us), TL_OK);
  }
  tl_server* server = nullptr;
  EXPECT_EQ(tl_server_new(opts, &server), TL_OK) << ThreadError();
  tl_server_options_free(opts);
  if (server == nullptr) {
    return 0;
  }
  EXPECT_EQ(tl_server_set_request_handler(server, Echo, nullptr), TL_OK);
  EXPECT_EQ(tl_server_start(server), TL_OK) << ThreadError();
  uint16_t port = 0;
  EXPECT_EQ(tl_server_port(server, &port), TL_OK);

  tl_client_settings* s = nullptr;
  EXPECT_EQ(LoopbackClientSettings(port, &s), TL_OK) << ThreadError();
  if (set) {
    EXPECT_EQ(tl_client_settings_set_busy_poll(s, budget_us), TL_OK);
  }
  tl_client* client = nullptr;
  EXPECT_EQ(tl_client_open(s, &client), TL_OK) << ThreadError();
  tl_client_settings_free(s);
  EXPECT_EQ(tl_client_wait_ready(client, 10000), TL_OK) << ThreadError();
  const uint8_t data[] = {'h', 'i'};
  NonBlockingWaits().Start(on);
  for (int i = 0; i < calls; ++i) {
    tl_response* resp = nullptr;
    EXPECT_EQ(tl_client_call(client, 0, 1, data, sizeof(data), 10000, &resp),
              TL_OK);
    tl_response_free(resp);
  }
  const uint64_t polls = NonBlockingWaits().Stop();
  tl_client_close(client);
  tl_server_free(server);
  return polls;
}

TEST(BusyPollCapiTest, OffByDefaultNeitherSidePollsWithoutBlocking) {
  EXPECT_EQ(Polls(false, 0, CountNewOn::kThisThread, 100), 0u);
  EXPECT_EQ(Polls(false, 0, CountNewOn::kLoopThreads, 100), 0u);
}

TEST(BusyPollCapiTest, OnBothSidesSpinBeforeTheySleep) {
  EXPECT_GT(Polls(true, TL_BUSY_POLL_MAX_US, CountNewOn::kThisThread, 100), 0u);
  EXPECT_GT(Polls(true, TL_BUSY_POLL_MAX_US, CountNewOn::kLoopThreads, 100),
            0u);
}

}  // namespace
