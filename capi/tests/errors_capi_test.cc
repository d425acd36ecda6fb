// Errors through the C ABI (docs/adr/0005): a failing call's message is the
// message of that failure whatever other threads do with the same tl_client,
// argument errors set a message, TL_E_BUFFER_TOO_SMALL reports the size
// needed, and tl_client_open leaves its shared settings alone.
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "capi/tests/fixture.h"
#include "gtest/gtest.h"
#include "trustlink/trustlink.h"

namespace {

using trustlink::capi::testing::LoopbackClientSettings;
using trustlink::capi::testing::LoopbackServerOptions;
using trustlink::capi::testing::ReadFixture;
using trustlink::capi::testing::ThreadError;

std::string HandleError(const tl_client* c) {
  char buf[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  if (tl_client_last_error(c, buf, sizeof(buf), &len) != TL_OK) {
    return "<tl_client_last_error failed>";
  }
  return std::string(buf, len);
}

// A real tl_server with one client ("web1") and one partition, and that
// client's settings.
class LinkFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    tl_server_options* opts = nullptr;
    ASSERT_EQ(LoopbackServerOptions(2, &opts), TL_OK) << ThreadError();
    ASSERT_EQ(
        tl_server_options_assign_partition(opts, "web1", "p1", "P1", "1001"),
        TL_OK);
    ASSERT_EQ(tl_server_new(opts, &server_), TL_OK);
    tl_server_options_free(opts);
    ASSERT_EQ(tl_server_start(server_), TL_OK);
    uint16_t port = 0;
    ASSERT_EQ(tl_server_port(server_, &port), TL_OK);

    ASSERT_EQ(LoopbackClientSettings(port, &settings_), TL_OK) << ThreadError();
  }

  void TearDown() override {
    tl_client_settings_free(settings_);
    tl_server_free(server_);
  }

  tl_client* OpenReady() {
    tl_client* c = nullptr;
    EXPECT_EQ(tl_client_open(settings_, &c), TL_OK);
    EXPECT_EQ(tl_client_wait_ready(c, 10000), TL_OK);
    return c;
  }

  tl_server* server_ = nullptr;
  tl_client_settings* settings_ = nullptr;
};

// The race: 8 threads making good calls beside one making failing
// calls on one tl_client. Each failure's message names what that call did
// wrong (its slot, its op, its argument), so a message from another call is
// seen as wrong.
TEST_F(LinkFixture, EveryFailureReadsItsOwnMessageUnderConcurrentCalls) {
  tl_client* c = OpenReady();
  ASSERT_NE(c, nullptr);
  constexpr int kGoodThreads = 8;
  constexpr int kFailures = 2000;
  std::atomic<bool> stop{false};
  std::atomic<int> good_calls{0};
  std::atomic<int> good_failures{0};
  std::vector<std::thread> good;
  for (int t = 0; t < kGoodThreads; ++t) {
    good.emplace_back([&, t] {
      const std::string data = absl::StrCat("hello from ", t);
      while (!stop.load()) {
        tl_response* r = nullptr;
        if (tl_client_call(c, 0, 1,
                           reinterpret_cast<const uint8_t*>(data.data()),
                           data.size(), 10000, &r) != TL_OK ||
            std::string(reinterpret_cast<const char*>(tl_response_data(r)),
                        tl_response_len(r)) != data) {
          good_failures.fetch_add(1);
        }
        tl_response_free(r);
        good_calls.fetch_add(1);
      }
    });
  }
  int wrong = 0;
  int wrong_per_handle = 0;
  std::string first_wrong;
  for (int i = 0; i < kFailures; ++i) {
    tl_status want = TL_OK;
    tl_status got = TL_OK;
    std::string marker;
    tl_response* r = nullptr;
    switch (i % 3) {
      case 0: {  // a slot that does not exist, failed in the library
        const int slot = 1000 + i;
        got = tl_client_call(c, slot, 1, nullptr, 0, 10000, &r);
        want = TL_E_NOT_FOUND;
        marker = absl::StrCat("slot ", slot, " does not exist");
        break;
      }
      case 1: {  // an op the partition lacks, failed by the server
        const uint32_t op = 100000 + static_cast<uint32_t>(i);
        got = tl_client_call(c, 0, op, nullptr, 0, 10000, &r);
        want = TL_E_UNIMPLEMENTED;
        marker = absl::StrCat("has no operation ", op);
        break;
      }
      default: {  // an argument error, failed in the C layer
        got =
            tl_client_call(c, 0, 1, nullptr, static_cast<size_t>(i), 10000, &r);
        want = TL_E_INVALID_ARGUMENT;
        marker = "tl_client_call: data is NULL but data_len is not 0";
        break;
      }
    }
    const std::string message = ThreadError();
    const std::string per_handle = HandleError(c);
    if (got != want || tl_last_error_status() != got ||
        message.find(marker) == std::string::npos) {
      if (wrong++ == 0) {
        first_wrong = absl::StrCat("failure ", i, ": ", tl_status_name(got),
                                   " '", message, "', wanted ", marker);
      }
    }
    if (per_handle.find(marker) == std::string::npos) {
      ++wrong_per_handle;
    }
  }
  stop.store(true);
  for (std::thread& t : good) {
    t.join();
  }
  tl_client_close(c);
  EXPECT_EQ(wrong, 0) << first_wrong;
  EXPECT_EQ(good_failures.load(), 0);
  EXPECT_GT(good_calls.load(), 0);
  // The deprecated per-handle getter under the same load, for the record
  // (docs/adr/0005): it cannot be right, so it is only reported.
  std::printf(
      "wrong messages in %d failures: tl_last_error %d, "
      "tl_client_last_error %d; %d good calls beside\n",
      kFailures, wrong, wrong_per_handle, good_calls.load());
}

TEST_F(LinkFixture, OpenFailureIsTheThreadsAndLeavesTheSettingsAlone) {
  tl_client_settings* empty = nullptr;
  ASSERT_EQ(tl_client_settings_new(&empty), TL_OK);
  tl_client* c = nullptr;
  EXPECT_EQ(tl_client_open(empty, &c), TL_E_CONFIG_INVALID);
  EXPECT_EQ(c, nullptr);
  const std::string message = ThreadError();
  EXPECT_NE(message.find("no servers are configured"), std::string::npos)
      << message;
  EXPECT_NE(message.find("tl_client_settings_add_server"), std::string::npos)
      << message;
  EXPECT_EQ(message.find("vtl"), std::string::npos) << message;
  char buf[TL_ERROR_MESSAGE_MAX];
  size_t len = 99;
  ASSERT_EQ(tl_client_settings_last_error(empty, buf, sizeof(buf), &len),
            TL_OK);
  EXPECT_EQ(len, 0u) << buf;
  tl_client_settings_free(empty);
}

// Library messages name the API fix, not a command line (the example programs
// add their own advice).
TEST_F(LinkFixture, IdentityMessagesNameTheApiFix) {
  tl_client_settings* s = nullptr;
  ASSERT_EQ(tl_client_settings_new(&s), TL_OK);
  ASSERT_EQ(tl_client_settings_add_server(
                s, "hsm1", "127.0.0.1", 1, 0,
                ReadFixture("server_ed25519.cert.pem").c_str()),
            TL_OK);
  ASSERT_EQ(tl_client_settings_set_identity_pem(
                s, ReadFixture("client_ed25519.cert.pem").c_str(),
                ReadFixture("client_p256.key.pem").c_str()),
            TL_OK);
  tl_client* c = nullptr;
  EXPECT_NE(tl_client_open(s, &c), TL_OK);
  EXPECT_EQ(c, nullptr);
  const std::string message = ThreadError();
  EXPECT_NE(message.find("does not match"), std::string::npos) << message;
  EXPECT_NE(message.find("tl_identity_create"), std::string::npos) << message;
  EXPECT_EQ(message.find("vtl"), std::string::npos) << message;
  tl_client_settings_free(s);
}

// Many opens of one shared settings at once, half of them failing for a bad
// key: each thread's failure is its own (TSan checks that no open writes the
// shared settings).
TEST_F(LinkFixture, ConcurrentOpensOfSharedSettings) {
  tl_client_settings* no_servers = nullptr;
  ASSERT_EQ(tl_client_settings_new(&no_servers), TL_OK);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        tl_client* c = nullptr;
        if (t % 2 == 0) {
          if (tl_client_open(no_servers, &c) != TL_E_CONFIG_INVALID ||
              ThreadError().find("no servers") == std::string::npos) {
            wrong.fetch_add(1);
          }
        } else if (tl_client_open(settings_, &c) != TL_OK) {
          wrong.fetch_add(1);
        }
        tl_client_close(c);
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(wrong.load(), 0);
  tl_client_settings_free(no_servers);
}

TEST(ErrorsCapiTest, ArgumentErrorsSetAMessageNamingTheArgument) {
  EXPECT_EQ(tl_client_call(nullptr, 0, 1, nullptr, 0, 0, nullptr),
            TL_E_INVALID_ARGUMENT);
  EXPECT_EQ(ThreadError(), "tl_client_call: the tl_client handle is NULL");
  EXPECT_EQ(tl_last_error_status(), TL_E_INVALID_ARGUMENT);
  tl_client_settings* s = nullptr;
  ASSERT_EQ(tl_client_settings_new(&s), TL_OK);
  EXPECT_EQ(tl_client_open(s, nullptr), TL_E_INVALID_ARGUMENT);
  EXPECT_EQ(ThreadError(), "tl_client_open: out is NULL");
  tl_client_settings_free(s);
}

TEST(ErrorsCapiTest, AnIndexOutOfRangeNamesTheIndexAndTheCount) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  ASSERT_NE(tmp, nullptr);
  const std::string root = std::string(tmp) + "/index-range-root";
  tl_trust_store* store = nullptr;
  ASSERT_EQ(tl_trust_store_new(&store), TL_OK);
  ASSERT_EQ(tl_trust_store_open(store, root.c_str(), 1), TL_OK)
      << ThreadError();
  tl_server_cert_list* list = nullptr;
  ASSERT_EQ(tl_trust_store_load_pinned(store, &list), TL_OK) << ThreadError();
  ASSERT_EQ(tl_server_cert_list_count(list), 0u);
  const char* name = "unchanged";
  EXPECT_EQ(tl_server_cert_list_name(list, 0, &name), TL_E_OUT_OF_RANGE);
  EXPECT_EQ(ThreadError(),
            "tl_server_cert_list_name: index 0 is out of range: the "
            "tl_server_cert_list has 0 certificates");
  EXPECT_STREQ(name, "unchanged");
  const uint8_t* der = nullptr;
  size_t der_len = 0;
  EXPECT_EQ(tl_server_cert_list_der(list, 3, &der, &der_len),
            TL_E_OUT_OF_RANGE);
  EXPECT_EQ(ThreadError(),
            "tl_server_cert_list_der: index 3 is out of range: the "
            "tl_server_cert_list has 0 certificates");
  tl_server_cert_list_free(list);
  tl_trust_store_free(store);
}

TEST(ErrorsCapiTest, ThreadErrorsAreSeparateAndSurviveSuccess) {
  EXPECT_EQ(tl_client_call(nullptr, 0, 1, nullptr, 0, 0, nullptr),
            TL_E_INVALID_ARGUMENT);
  std::string other;
  std::thread([&] {
    other = ThreadError();
    EXPECT_EQ(tl_last_error_status(), TL_OK);
  }).join();
  EXPECT_EQ(other, "");
  char path[512];
  size_t len = 0;
  ASSERT_EQ(tl_client_root_default_path(path, sizeof(path), &len), TL_OK);
  EXPECT_EQ(ThreadError(), "tl_client_call: the tl_client handle is NULL");
}

TEST(ErrorsCapiTest, BufferTooSmallReportsTheSizeNeeded) {
  char path[512];
  size_t len = 0;
  ASSERT_EQ(tl_client_root_default_path(path, sizeof(path), &len), TL_OK);
  const size_t needed = len + 1;
  char small[2] = "x";
  size_t out_len = 0;
  EXPECT_EQ(tl_client_root_default_path(small, sizeof(small), &out_len),
            TL_E_BUFFER_TOO_SMALL);
  EXPECT_EQ(out_len, needed);
  EXPECT_STREQ(small, "x");
  EXPECT_NE(ThreadError().find(absl::StrCat("a buffer of ", needed, " bytes")),
            std::string::npos);
  // The size alone: buf NULL with buf_len 0.
  out_len = 0;
  EXPECT_EQ(tl_client_root_default_path(nullptr, 0, &out_len),
            TL_E_BUFFER_TOO_SMALL);
  EXPECT_EQ(out_len, needed);

  // tl_last_error itself: the same rule, and asking does not change it.
  const std::string message = ThreadError();
  out_len = 0;
  EXPECT_EQ(tl_last_error(nullptr, 0, &out_len), TL_E_BUFFER_TOO_SMALL);
  EXPECT_EQ(out_len, message.size() + 1);
  EXPECT_EQ(tl_last_error(nullptr, 0, nullptr), TL_E_INVALID_ARGUMENT);
  EXPECT_EQ(ThreadError(), message);
}

TEST_F(LinkFixture, ServerNameGetterReportsTheSizeNeeded) {
  tl_client* c = OpenReady();
  size_t out_len = 0;
  EXPECT_EQ(tl_client_server_name(c, 0, nullptr, 0, &out_len),
            TL_E_BUFFER_TOO_SMALL);
  EXPECT_EQ(out_len, sizeof("hsm1"));
  char name[5];
  ASSERT_EQ(tl_client_server_name(c, 0, name, out_len, &out_len), TL_OK);
  EXPECT_STREQ(name, "hsm1");
  tl_client_close(c);
}

}  // namespace
