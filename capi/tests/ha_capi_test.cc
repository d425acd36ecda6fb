// HA groups through the C ABI (trustlink/ha.h) against two real tl_servers on
// 127.0.0.1 and 127.0.0.2: defining a group on the settings, its virtual slot
// in the slot list, calls on it (blocking without library threads, and
// asynchronous), member and group state, and the HA link events.
#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

#include "capi/tests/fixture.h"
#include "gtest/gtest.h"
#include "trustlink/trustlink.h"

namespace {

using trustlink::capi::testing::ReadText;
using trustlink::capi::testing::ThreadError;

constexpr uint32_t kEcho = 1;

class HaCapiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = std::string(getenv("TEST_TMPDIR")) + "/ha.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    std::string cert, key;
    ASSERT_TRUE(
        trustlink::capi::testing::LoopbackClientIdentity(dir_, &cert, &key));
    ASSERT_EQ(tl_client_settings_new(&settings_), TL_OK);
    ASSERT_EQ(tl_client_settings_set_identity_pem(settings_, cert.c_str(),
                                                  key.c_str()),
              TL_OK);
    for (int n = 0; n < 2; ++n) {
      const std::string host = "127.0.0." + std::to_string(n + 1);
      const std::string root = dir_ + "/appliance" + std::to_string(n);
      ASSERT_EQ(
          tl_registry_load(root.c_str(), TL_REGISTRY_OPEN_CREATE, &reg_[n]),
          TL_OK);
      ASSERT_EQ(
          tl_registry_create_partition(reg_[n], "p1", "P1", nullptr, nullptr),
          TL_OK);
      tl_client_registration* r = nullptr;
      ASSERT_EQ(tl_client_registration_new(&r), TL_OK);
      tl_client_registration_set_label(r, "web1");
      tl_client_registration_set_ip(r, "127.0.0.1");
      tl_client_registration_set_certificate_pem(r, cert.c_str());
      ASSERT_EQ(tl_registry_register_client(reg_[n], r, nullptr), TL_OK);
      tl_client_registration_free(r);
      ASSERT_EQ(tl_registry_assign_partition(reg_[n], "web1", "p1", nullptr),
                TL_OK);
      tl_server_options* opts = nullptr;
      ASSERT_EQ(tl_server_options_new(&opts), TL_OK);
      ASSERT_EQ(tl_server_options_set_root(opts, root.c_str(), host.c_str()),
                TL_OK);
      ASSERT_EQ(tl_server_options_set_listen(opts, host.c_str(), 0), TL_OK);
      ASSERT_EQ(tl_server_new(opts, &server_[n]), TL_OK);
      tl_server_options_free(opts);
      ASSERT_EQ(tl_server_start(server_[n]), TL_OK);
      uint16_t port = 0;
      ASSERT_EQ(tl_server_port(server_[n], &port), TL_OK);
      const std::string pem = ReadText(root + "/server/server.pem");
      ASSERT_EQ(
          tl_client_settings_add_server(settings_, host.c_str(), host.c_str(),
                                        port, 0, pem.c_str()),
          TL_OK);
    }
    ASSERT_EQ(tl_client_settings_add_ha_group(settings_, "grp", "9001"), TL_OK);
    ASSERT_EQ(tl_client_settings_add_ha_member(settings_, "grp", "127.0.0.1",
                                               "p1", 0),
              TL_OK);
    ASSERT_EQ(tl_client_settings_add_ha_member(settings_, "grp", "127.0.0.2",
                                               "p1", 0),
              TL_OK);
    ASSERT_EQ(tl_client_settings_set_ha(settings_, 0, 100, -1), TL_OK);
  }

  void TearDown() override {
    tl_client_settings_free(settings_);
    for (int n = 0; n < 2; ++n) {
      tl_server_free(server_[n]);
      tl_registry_free(reg_[n]);
    }
  }

  // GroupSlot finds the group's entry in the slot list (-1: none).
  static int32_t GroupSlot(tl_client* c, size_t* entries) {
    tl_slot_list* list = nullptr;
    EXPECT_EQ(tl_client_slots(c, &list), TL_OK);
    int32_t slot = -1;
    *entries = tl_slot_list_count(list);
    for (size_t i = 0; i < *entries; ++i) {
      if (std::string(tl_slot_list_ha_group(list, i)) == "grp") {
        int32_t state = 0;
        EXPECT_EQ(tl_slot_list_get(list, i, &slot, &state), TL_OK);
        EXPECT_EQ(state, TL_SLOT_READY);
        EXPECT_STREQ(tl_slot_list_server(list, i), "");
        EXPECT_STREQ(tl_slot_list_label(list, i), "grp");
        EXPECT_STREQ(tl_slot_list_serial(list, i), "9001");
      }
    }
    EXPECT_EQ(tl_slot_list_ha_group(list, *entries), nullptr);
    tl_slot_list_free(list);
    return slot;
  }

  std::string dir_;
  tl_registry* reg_[2] = {nullptr, nullptr};
  tl_server* server_[2] = {nullptr, nullptr};
  tl_client_settings* settings_ = nullptr;
};

TEST_F(HaCapiTest, SettingsRefuseBadGroupsWithTheFix) {
  EXPECT_EQ(tl_client_settings_add_ha_member(settings_, "nogroup", "127.0.0.1",
                                             "p1", 0),
            TL_E_NOT_FOUND);
  EXPECT_NE(ThreadError().find("tl_client_settings_add_ha_group"),
            std::string::npos)
      << ThreadError();
  EXPECT_EQ(tl_client_settings_add_ha_group(settings_, "grp", nullptr),
            TL_E_ALREADY_EXISTS);
  EXPECT_EQ(
      tl_client_settings_add_ha_member(settings_, "grp", "127.0.0.1", "p1", 0),
      TL_E_ALREADY_EXISTS);
  EXPECT_EQ(
      tl_client_settings_add_ha_member(settings_, "grp", "127.0.0.1", "p2", 2),
      TL_E_INVALID_ARGUMENT);
  EXPECT_EQ(tl_client_settings_set_ha(settings_, 0, 0, -1),
            TL_E_INVALID_ARGUMENT);
  EXPECT_EQ(tl_client_settings_set_ha(settings_, 0, 100, -2),
            TL_E_INVALID_ARGUMENT);
  // A member on a server that is not configured is refused at open.
  ASSERT_EQ(tl_client_settings_add_ha_member(settings_, "grp", "hsm9", "p1", 1),
            TL_OK);
  tl_client* c = nullptr;
  EXPECT_EQ(tl_client_open(settings_, &c), TL_E_CONFIG_INVALID);
  EXPECT_NE(ThreadError().find("not configured"), std::string::npos)
      << ThreadError();
}

TEST_F(HaCapiTest, WithoutThreadsTheGroupSlotCallsAndReportsItsMembers) {
  ASSERT_EQ(tl_client_settings_set_no_threads(settings_, 1), TL_OK);
  tl_client* c = nullptr;
  ASSERT_EQ(tl_client_open(settings_, &c), TL_OK);
  ASSERT_EQ(tl_client_wait_ready(c, 10000), TL_OK);
  size_t entries = 0;
  const int32_t slot = GroupSlot(c, &entries);
  ASSERT_GE(slot, 0);
  EXPECT_EQ(entries, 3u);  // two member slots and the group's
  for (int i = 0; i < 4; ++i) {
    tl_response* r = nullptr;
    ASSERT_EQ(
        tl_client_call(c, slot, kEcho, reinterpret_cast<const uint8_t*>("hi"),
                       2, 5000, &r),
        TL_OK)
        << ThreadError();
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(tl_response_data(r)),
                          tl_response_len(r)),
              "hi");
    tl_response_free(r);
  }
  size_t groups = 0;
  ASSERT_EQ(tl_client_ha_group_count(c, &groups), TL_OK);
  ASSERT_EQ(groups, 1u);
  int32_t gslot = -1, gstate = -1;
  size_t members = 0;
  ASSERT_EQ(tl_client_ha_group_state(c, 0, &gslot, &gstate, &members), TL_OK);
  EXPECT_EQ(gslot, slot);
  EXPECT_EQ(gstate, TL_HA_GROUP_UP);
  EXPECT_EQ(members, 2u);
  char buf[512];
  size_t len = 0;
  ASSERT_EQ(tl_client_ha_group_label(c, 0, buf, sizeof(buf), &len), TL_OK);
  EXPECT_STREQ(buf, "grp");
  ASSERT_EQ(tl_client_ha_member_server(c, 0, 1, buf, sizeof(buf), &len), TL_OK);
  EXPECT_STREQ(buf, "127.0.0.2");
  ASSERT_EQ(tl_client_ha_member_partition(c, 0, 1, buf, sizeof(buf), &len),
            TL_OK);
  EXPECT_STREQ(buf, "p1");
  EXPECT_EQ(tl_client_ha_member_server(c, 0, 2, buf, sizeof(buf), &len),
            TL_E_OUT_OF_RANGE);
  EXPECT_NE(ThreadError().find("member index 2 is out of range: HA group "
                               "'grp' has 2 members"),
            std::string::npos)
      << ThreadError();
  int32_t bad_state = -1, bad_standby = -1;
  uint64_t bad_in_flight = 0;
  EXPECT_EQ(tl_client_ha_member_state(c, 0, SIZE_MAX, &bad_state, &bad_standby,
                                      &bad_in_flight),
            TL_E_OUT_OF_RANGE);
  EXPECT_NE(ThreadError().find("member index 18446744073709551615 is out of "
                               "range: HA group 'grp' has 2 members"),
            std::string::npos)
      << ThreadError();
  EXPECT_EQ(tl_client_ha_group_state(c, 1, &gslot, &gstate, &members),
            TL_E_OUT_OF_RANGE);
  EXPECT_NE(ThreadError().find("HA group index 1 is out of range: the client "
                               "has 1 HA group"),
            std::string::npos)
      << ThreadError();

  // next drives the client until an event of `want` is read (10 s at most).
  auto next = [&](int32_t want, size_t* index, tl_status* status) {
    const auto end =
        std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < end) {
      int32_t kind = 0;
      while (tl_client_next_link_event(c, &kind, index, status) == TL_OK) {
        if (kind == want) {
          return true;
        }
      }
      tl_client_process(c, 100);
    }
    return false;
  };
  size_t index = 99;
  tl_status status = TL_OK;
  tl_server_free(server_[0]);
  server_[0] = nullptr;
  ASSERT_TRUE(next(TL_LINK_EVENT_HA_MEMBER_DOWN, &index, &status));
  EXPECT_EQ(index, 0u);  // the member's server
  EXPECT_NE(status, TL_OK);
  int32_t mstate = -1, standby = -1;
  uint64_t in_flight = 99;
  ASSERT_EQ(tl_client_ha_member_state(c, 0, 0, &mstate, &standby, &in_flight),
            TL_OK);
  EXPECT_EQ(mstate, TL_HA_MEMBER_DOWN);
  EXPECT_EQ(standby, 0);
  EXPECT_EQ(in_flight, 0u);
  ASSERT_EQ(tl_client_ha_member_error(c, 0, 0, buf, sizeof(buf), &len), TL_OK);
  EXPECT_GT(len, 0u);
  tl_response* r = nullptr;
  ASSERT_EQ(tl_client_call(c, slot, kEcho,
                           reinterpret_cast<const uint8_t*>("x"), 1, 5000, &r),
            TL_OK)
      << ThreadError();
  tl_response_free(r);
  tl_server_free(server_[1]);
  server_[1] = nullptr;
  ASSERT_TRUE(next(TL_LINK_EVENT_HA_GROUP_DOWN, &index, &status));
  EXPECT_EQ(index, 0u);  // the group
  EXPECT_EQ(status, TL_E_UNAVAILABLE);
  r = nullptr;
  EXPECT_EQ(tl_client_call(c, slot, kEcho,
                           reinterpret_cast<const uint8_t*>("x"), 1, 5000, &r),
            TL_E_UNAVAILABLE);
  EXPECT_NE(ThreadError().find("no member of HA group 'grp'"),
            std::string::npos)
      << ThreadError();
  tl_client_close(c);
}

struct AsyncResult {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  tl_status status = TL_E_INTERNAL;
  std::string data;
};

void OnAnswer(void* userdata, tl_status status, const uint8_t* data,
              size_t len) {
  auto* r = static_cast<AsyncResult*>(userdata);
  std::lock_guard<std::mutex> lock(r->mu);
  r->status = status;
  r->data.assign(reinterpret_cast<const char*>(data), len);
  r->done = true;
  r->cv.notify_all();
}

TEST_F(HaCapiTest, AsyncCallsOnTheGroupSlotAnswer) {
  tl_client* c = nullptr;
  ASSERT_EQ(tl_client_open(settings_, &c), TL_OK);
  ASSERT_EQ(tl_client_wait_ready(c, 10000),
            TL_OK);  // both members, before the slots
  size_t entries = 0;
  const int32_t slot = GroupSlot(c, &entries);
  ASSERT_GE(slot, 0);
  AsyncResult res;
  ASSERT_EQ(tl_client_call_async(c, slot, kEcho,
                                 reinterpret_cast<const uint8_t*>("async"), 5,
                                 5000, OnAnswer, &res),
            TL_OK);
  {
    std::unique_lock<std::mutex> lock(res.mu);
    ASSERT_TRUE(res.cv.wait_for(lock, std::chrono::seconds(10),
                                [&] { return res.done; }));
    EXPECT_EQ(res.status, TL_OK);
    EXPECT_EQ(res.data, "async");
  }
  EXPECT_STREQ(tl_status_name(TL_E_OUTCOME_UNKNOWN), "TL_E_OUTCOME_UNKNOWN");
  tl_client_close(c);
}

}  // namespace
