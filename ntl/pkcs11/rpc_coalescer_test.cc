#include "ntl/pkcs11/rpc_coalescer.h"

#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "ntl/pkcs11/test_util.h"

namespace trustlink::ntl::pkcs11 {
namespace {

using testing::P11KitHeader;

constexpr absl::Duration kLong = absl::Hours(1);

// The pieces p11-kit's client writes for one call (header, options, body)
// leave as one message; the version byte that opens the stream leaves alone.
TEST(RpcCoalescerTest, PiecesOfOneMessageLeaveTogether) {
  RpcCoalescer c(kLong);
  c.Add(std::string(1, '\0'));
  EXPECT_EQ(c.TakeReady(), std::string(1, '\0'));
  const std::string header = P11KitHeader(0x10, 5, 7);
  c.Add(header);
  EXPECT_EQ(c.TakeReady(), "");
  EXPECT_TRUE(c.holding());
  c.Add("modul");
  EXPECT_EQ(c.TakeReady(), "");
  c.Add("body");
  EXPECT_EQ(c.TakeReady(), "");
  c.Add("123");
  EXPECT_EQ(c.TakeReady(), header + "modul" + "body123");
  EXPECT_FALSE(c.holding());
}

// A header split across reads, two messages in one read, and a message ending
// mid-read: only whole messages leave, the rest waits.
TEST(RpcCoalescerTest, SplitsAtMessageBoundaries) {
  RpcCoalescer c(kLong);
  const std::string a = P11KitHeader(0x11, 0, 3) + "abc";
  const std::string b = P11KitHeader(0x12, 0, 0);
  const std::string d = P11KitHeader(0x13, 2, 2) + "xxyy";
  const std::string all = std::string(1, '\1') + a + b + d;
  c.Add(all.substr(0, 5));  // version byte and part of a's header
  EXPECT_EQ(c.TakeReady(), std::string(1, '\1'));
  c.Add(all.substr(5, 1 + a.size() + b.size() + 3 - 5));
  EXPECT_EQ(c.TakeReady(), a + b);
  c.Add(all.substr(1 + a.size() + b.size() + 3));
  EXPECT_EQ(c.TakeReady(), d);
  EXPECT_FALSE(c.holding());
}

// A message longer than the hold limit streams through as it comes.
TEST(RpcCoalescerTest, LongMessagesPassAsTheyCome) {
  RpcCoalescer c(kLong, /*max_held=*/64);
  c.Add(std::string(1, '\0'));
  c.TakeReady();
  const std::string header = P11KitHeader(0x10, 0, 100);
  c.Add(header + std::string(10, 'x'));
  EXPECT_EQ(c.TakeReady(), header + std::string(10, 'x'));
  c.Add(std::string(90, 'y'));
  EXPECT_EQ(c.TakeReady(), std::string(90, 'y'));
  // The next, short message is held again until whole.
  const std::string next = P11KitHeader(0x11, 0, 2);
  c.Add(next);
  EXPECT_EQ(c.TakeReady(), "");
  c.Add("ok");
  EXPECT_EQ(c.TakeReady(), next + "ok");
}

// Bytes that are not p11-kit's framing (a call code of 0) pass at once from
// then on.
TEST(RpcCoalescerTest, NonP11KitBytesPassThrough) {
  RpcCoalescer c(kLong);
  c.Add("v");
  c.TakeReady();
  const std::string junk = P11KitHeader(0, 1000, 1000);
  c.Add(junk);
  EXPECT_TRUE(c.passing_through());
  EXPECT_EQ(c.TakeReady(), junk);
  c.Add("more");
  EXPECT_EQ(c.TakeReady(), "more");
}

// A partial message is held at most max_hold: PollTimeoutMs says when, and
// TakeDue gives it up then.
TEST(RpcCoalescerTest, HeldBytesAreDueAfterMaxHold) {
  RpcCoalescer c(absl::ZeroDuration());
  EXPECT_EQ(c.PollTimeoutMs(), -1);
  c.Add("v");
  c.TakeReady();
  const std::string header = P11KitHeader(0x10, 0, 50);
  c.Add(header);
  EXPECT_EQ(c.TakeReady(), "");
  EXPECT_EQ(c.PollTimeoutMs(), 0);
  EXPECT_EQ(c.TakeDue(), header);
  EXPECT_EQ(c.PollTimeoutMs(), -1);

  RpcCoalescer patient(absl::InfiniteDuration());
  patient.Add("v");
  patient.TakeReady();
  patient.Add(header);
  patient.TakeReady();
  EXPECT_GT(patient.PollTimeoutMs(), 1000);
  EXPECT_EQ(patient.TakeDue(), "");
  EXPECT_EQ(patient.TakeAll(), header);
}

}  // namespace
}  // namespace trustlink::ntl::pkcs11
