// Link events through the C ABI: a client sees its link come up, its slots
// change when the appliance assigns a partition, and the link go down when
// the server stops; by callback (with the I/O thread) and by
// tl_client_next_link_event after tl_client_process (without library
// threads). Against a real tl_server on a registry root.
#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "capi/tests/fixture.h"
#include "gtest/gtest.h"
#include "trustlink/trustlink.h"

namespace {

using trustlink::capi::testing::ReadText;

struct Event {
  int32_t kind;
  size_t server;
  tl_status status;
};

struct Recorder {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Event> events;

  // WaitFor waits (10 s at most) for an event of `kind`; returns it.
  bool WaitFor(int32_t kind, Event* out) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] {
      for (const Event& e : events) {
        if (e.kind == kind) {
          *out = e;
          return true;
        }
      }
      return false;
    });
  }
};

void Record(void* userdata, int32_t kind, size_t server, tl_status status) {
  auto* r = static_cast<Recorder*>(userdata);
  std::lock_guard<std::mutex> lock(r->mu);
  r->events.push_back(Event{kind, server, status});
  r->cv.notify_all();
}

class LinkEventsCapiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = std::string(getenv("TEST_TMPDIR")) + "/events.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    const std::string root = dir_ + "/appliance";
    // The client's identity, for 127.0.0.1.
    ASSERT_TRUE(trustlink::capi::testing::LoopbackClientIdentity(
        dir_, &client_cert_, &client_key_));
    // The appliance: web1 with partition p1; p2 exists, unassigned.
    ASSERT_EQ(tl_registry_load(root.c_str(), TL_REGISTRY_OPEN_CREATE, &reg_),
              TL_OK);
    ASSERT_EQ(tl_registry_create_partition(reg_, "p1", "P1", nullptr, nullptr),
              TL_OK);
    ASSERT_EQ(tl_registry_create_partition(reg_, "p2", "P2", nullptr, nullptr),
              TL_OK);
    tl_client_registration* r = nullptr;
    ASSERT_EQ(tl_client_registration_new(&r), TL_OK);
    tl_client_registration_set_label(r, "web1");
    tl_client_registration_set_ip(r, "127.0.0.1");
    tl_client_registration_set_certificate_pem(r, client_cert_.c_str());
    ASSERT_EQ(tl_registry_register_client(reg_, r, nullptr), TL_OK);
    tl_client_registration_free(r);
    ASSERT_EQ(tl_registry_assign_partition(reg_, "web1", "p1", nullptr), TL_OK);
    tl_server_options* opts = nullptr;
    ASSERT_EQ(tl_server_options_new(&opts), TL_OK);
    ASSERT_EQ(tl_server_options_set_root(opts, root.c_str(), "127.0.0.1"),
              TL_OK);
    ASSERT_EQ(tl_server_options_set_listen(opts, "127.0.0.1", 0), TL_OK);
    ASSERT_EQ(tl_server_new(opts, &server_), TL_OK);
    tl_server_options_free(opts);
    ASSERT_EQ(tl_server_start(server_), TL_OK);
    uint16_t port = 0;
    ASSERT_EQ(tl_server_port(server_, &port), TL_OK);
    const std::string server_pem = ReadText(root + "/server/server.pem");
    ASSERT_FALSE(server_pem.empty());
    ASSERT_EQ(tl_client_settings_new(&settings_), TL_OK);
    ASSERT_EQ(tl_client_settings_add_server(settings_, "hsm1", "127.0.0.1",
                                            port, 0, server_pem.c_str()),
              TL_OK);
    ASSERT_EQ(tl_client_settings_set_identity_pem(
                  settings_, client_cert_.c_str(), client_key_.c_str()),
              TL_OK);
    ASSERT_EQ(tl_client_settings_set_reconnect(settings_, 0, 100, 100), TL_OK);
  }

  void TearDown() override {
    tl_client_settings_free(settings_);
    tl_server_free(server_);
    tl_registry_free(reg_);
  }

  size_t SlotCount(tl_client* c) {
    tl_slot_list* list = nullptr;
    EXPECT_EQ(tl_client_slots(c, &list), TL_OK);
    size_t n = tl_slot_list_count(list);
    tl_slot_list_free(list);
    return n;
  }

  std::string dir_;
  std::string client_cert_;
  std::string client_key_;
  tl_registry* reg_ = nullptr;
  tl_server* server_ = nullptr;
  tl_client_settings* settings_ = nullptr;
};

TEST_F(LinkEventsCapiTest, CallbackSeesUpSlotsChangedAndDown) {
  Recorder rec;
  ASSERT_EQ(tl_client_settings_set_link_event_callback(settings_, Record, &rec),
            TL_OK);
  tl_client* c = nullptr;
  ASSERT_EQ(tl_client_open(settings_, &c), TL_OK);
  Event e{};
  ASSERT_TRUE(rec.WaitFor(TL_LINK_EVENT_UP, &e));
  EXPECT_EQ(e.server, 0u);
  EXPECT_EQ(e.status, TL_OK);
  int32_t k = 0;
  size_t s = 0;
  tl_status st = TL_OK;
  EXPECT_EQ(tl_client_next_link_event(c, &k, &s, &st),
            TL_E_FAILED_PRECONDITION);

  ASSERT_EQ(tl_registry_assign_partition(reg_, "web1", "p2", nullptr), TL_OK);
  ASSERT_TRUE(rec.WaitFor(TL_LINK_EVENT_SLOTS_CHANGED, &e));
  EXPECT_EQ(SlotCount(c), 2u);

  tl_server_free(server_);
  server_ = nullptr;
  ASSERT_TRUE(rec.WaitFor(TL_LINK_EVENT_DOWN, &e));
  EXPECT_NE(e.status, TL_OK);
  tl_client_close(c);
  std::lock_guard<std::mutex> lock(rec.mu);
  ASSERT_GE(rec.events.size(), 3u);
  EXPECT_EQ(rec.events.front().kind, TL_LINK_EVENT_UP);
}

TEST_F(LinkEventsCapiTest, NoThreadsReadsTheSameEventsAfterProcess) {
  ASSERT_EQ(tl_client_settings_set_no_threads(settings_, 1), TL_OK);
  tl_client* c = nullptr;
  ASSERT_EQ(tl_client_open(settings_, &c), TL_OK);
  // next drives the client until an event of `want` is read (10 s at most).
  auto next = [&](int32_t want, tl_status* status) {
    const auto end =
        std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < end) {
      int32_t kind = 0;
      size_t server = 99;
      while (tl_client_next_link_event(c, &kind, &server, status) == TL_OK) {
        EXPECT_EQ(server, 0u);
        if (kind == want) {
          return true;
        }
      }
      tl_client_process(c, 100);
    }
    return false;
  };
  tl_status status = TL_E_INTERNAL;
  ASSERT_TRUE(next(TL_LINK_EVENT_UP, &status));
  EXPECT_EQ(status, TL_OK);
  ASSERT_EQ(tl_registry_assign_partition(reg_, "web1", "p2", nullptr), TL_OK);
  ASSERT_TRUE(next(TL_LINK_EVENT_SLOTS_CHANGED, &status));
  tl_server_free(server_);
  server_ = nullptr;
  ASSERT_TRUE(next(TL_LINK_EVENT_DOWN, &status));
  EXPECT_NE(status, TL_OK);
  tl_client_close(c);
}

}  // namespace
