#include "capi/internal/log_event.h"

#include "gtest/gtest.h"
#include "trustlink/log.h"

namespace trustlink::capi::internal {
namespace {

TEST(LogEventTest, RefusalHasKindLevelPeerAndQuotedReason) {
  const tl_log_event e = ParseLogLine(
      "ntls",
      "refused peer=127.0.0.2:40000 fingerprint=ab:cd reason=\"client cert "
      "is not registered; register it with 'client register' first\"");
  EXPECT_EQ(e.kind, "refused");
  EXPECT_EQ(e.level, TL_LOG_WARNING);
  EXPECT_EQ(e.client, "");
  ASSERT_EQ(e.addresses.size(), 1u);
  EXPECT_EQ(e.addresses[0], "127.0.0.2:40000");
  ASSERT_EQ(e.fields.size(), 3u);
  EXPECT_EQ(e.fields[1].second, "ab:cd");
  EXPECT_EQ(e.fields[2].first, "reason");
  EXPECT_EQ(e.fields[2].second,
            "client cert is not registered; register it with 'client "
            "register' first");
}

TEST(LogEventTest, HtlAlertNamesTheClientAndBothAddresses) {
  const tl_log_event e = ParseLogLine(
      "ntls",
      "ALERT htl client='web 1' presented=127.0.0.3:5 other=[::1]:6 "
      "reason=\"HTL clone detected for client 'web 1'\"");
  EXPECT_EQ(e.kind, "htl-alert");
  EXPECT_EQ(e.level, TL_LOG_ALERT);
  EXPECT_EQ(e.client, "web 1");
  ASSERT_EQ(e.addresses.size(), 2u);
  EXPECT_EQ(e.addresses[0], "127.0.0.3:5");
  EXPECT_EQ(e.addresses[1], "[::1]:6");
}

TEST(LogEventTest, PlainLinesKeepTheirFirstWordAsKind) {
  tl_log_event e = ParseLogLine("ntls", "shutting down: finishing calls");
  EXPECT_EQ(e.kind, "shutting");
  EXPECT_TRUE(e.fields.empty());
  e = ParseLogLine("ntls", "htl-down client='web1' reason=\"x\"; closing");
  EXPECT_EQ(e.kind, "htl-down");
  EXPECT_EQ(e.level, TL_LOG_WARNING);
  EXPECT_EQ(e.client, "web1");
  e = ParseLogLine("ntls", "closing peer=1.2.3.4:5 reason=\"unterminated");
  EXPECT_EQ(e.fields.back().second, "unterminated");
  e = ParseLogLine("ntls", "");
  EXPECT_EQ(e.kind, "");
}

}  // namespace
}  // namespace trustlink::capi::internal
