#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "trustlink/trustlink.h"

namespace {

std::string LastError(const tl_p11_setup* s) {
  char buf[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  EXPECT_EQ(tl_p11_setup_last_error(s, buf, sizeof(buf), &len), TL_OK);
  return std::string(buf, len);
}

TEST(P11SetupTest, WritesModuleConfigs) {
  tl_p11_setup* s = nullptr;
  ASSERT_EQ(tl_p11_setup_new(&s), TL_OK);
  std::string dir = absl::StrCat(getenv("TEST_TMPDIR"), "/modules");
  ASSERT_EQ(tl_p11_setup_set_dir(s, dir.c_str()), TL_OK);
  for (const char* w : {"/usr/bin/vtl", "p11", "bridge"}) {
    ASSERT_EQ(tl_p11_setup_add_bridge_arg(s, w), TL_OK);
  }
  ASSERT_EQ(tl_p11_setup_add_partition(s, "hsm1", "partA"), TL_OK);
  size_t written = 0, removed = 0;
  ASSERT_EQ(tl_p11_setup_write(s, &written, &removed), TL_OK) << LastError(s);
  EXPECT_EQ(written, 1u);
  EXPECT_EQ(removed, 0u);
  std::ifstream in(dir + "/trustlink-hsm1-partA.module");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_TRUE(absl::StrContains(
      text.str(),
      "remote: |/usr/bin/vtl p11 bridge -server hsm1 -partition partA"));
  tl_p11_setup_free(s);
}

TEST(P11SetupTest, BadPartitionNameIsRefusedWithAMessage) {
  tl_p11_setup* s = nullptr;
  ASSERT_EQ(tl_p11_setup_new(&s), TL_OK);
  std::string dir = absl::StrCat(getenv("TEST_TMPDIR"), "/bad");
  tl_p11_setup_set_dir(s, dir.c_str());
  tl_p11_setup_add_bridge_arg(s, "/usr/bin/vtl");
  tl_p11_setup_add_partition(s, "hsm1", "../etc");
  size_t written = 7, removed = 7;
  EXPECT_EQ(tl_p11_setup_write(s, &written, &removed), TL_E_NAME_INVALID);
  EXPECT_EQ(written, 7u);  // out-params untouched on failure
  EXPECT_TRUE(absl::StrContains(LastError(s), "partition name"))
      << LastError(s);
  tl_p11_setup_free(s);
  tl_p11_setup_free(nullptr);
}

struct Sent {
  std::string bytes;
  int closes = 0;
};

tl_status SendFn(void* ud, const uint8_t* data, size_t len) {
  static_cast<Sent*>(ud)->bytes.append(reinterpret_cast<const char*>(data),
                                       len);
  return TL_OK;
}
void CloseFn(void* ud) { static_cast<Sent*>(ud)->closes++; }

TEST(P11BridgeTest, PumpsAndReportsTheStreamsEnd) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  tl_p11_bridge* b = nullptr;
  ASSERT_EQ(tl_p11_bridge_new(&b), TL_OK);
  // Bytes that arrive before run starts are kept.
  const uint8_t early[] = {'h', 'i'};
  ASSERT_EQ(tl_p11_bridge_deliver(b, early, sizeof(early)), TL_OK);
  Sent sent;
  tl_status result = -1;
  std::thread t([&] {
    result = tl_p11_bridge_run(b, sv[1], sv[1], SendFn, CloseFn, &sent);
  });
  char buf[2];
  ASSERT_EQ(read(sv[0], buf, 2), 2);
  EXPECT_EQ(std::string(buf, 2), "hi");
  ASSERT_EQ(tl_p11_bridge_end(b, TL_E_PARTITION_NOT_ASSIGNED,
                              "partition 'p' revoked"),
            TL_OK);
  EXPECT_EQ(read(sv[0], buf, 1),
            0);  // the application's pending read fails, no hang
  shutdown(sv[0], SHUT_WR);
  t.join();
  EXPECT_EQ(result, TL_E_PARTITION_NOT_ASSIGNED);
  EXPECT_EQ(sent.closes, 1);
  char msg[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  ASSERT_EQ(tl_p11_bridge_last_error(b, msg, sizeof(msg), &len), TL_OK);
  EXPECT_TRUE(absl::StrContains(std::string(msg, len), "revoked"));
  tl_p11_bridge_free(b);
  close(sv[0]);
  close(sv[1]);
}

TEST(P11BridgeTest, NullArgumentsAreRefused) {
  EXPECT_EQ(tl_p11_bridge_new(nullptr), TL_E_INVALID_ARGUMENT);
  tl_p11_bridge* b = nullptr;
  ASSERT_EQ(tl_p11_bridge_new(&b), TL_OK);
  EXPECT_EQ(tl_p11_bridge_run(b, 0, 1, nullptr, CloseFn, nullptr),
            TL_E_INVALID_ARGUMENT);
  EXPECT_EQ(tl_p11_bridge_deliver(b, nullptr, 3), TL_E_INVALID_ARGUMENT);
  tl_p11_bridge_free(b);
}

}  // namespace
