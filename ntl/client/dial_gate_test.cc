#include "ntl/client/dial_gate.h"

#include "gtest/gtest.h"

namespace trustlink::ntl::client {
namespace {

using State = DialTicket::State;

TEST(DialGateTest, AdmitsUpToTheLimitPerAddressAndQueuesTheRest) {
  DialGate gate(2);
  DialTicket a, b, c, other;
  EXPECT_TRUE(gate.Enter("h:1", &a));
  EXPECT_TRUE(gate.Enter("h:1", &b));
  EXPECT_FALSE(gate.Enter("h:1", &c));
  EXPECT_EQ(c.state, State::kQueued);
  // Another address has its own slots.
  EXPECT_TRUE(gate.Enter("h:2", &other));
  EXPECT_EQ(gate.in_flight("h:1"), 2);
  EXPECT_EQ(gate.queued("h:1"), 1u);
  // Asking again keeps the place, and holding is idempotent.
  EXPECT_FALSE(gate.Enter("h:1", &c));
  EXPECT_TRUE(gate.Enter("h:1", &a));
  EXPECT_EQ(gate.queued("h:1"), 1u);
  EXPECT_EQ(gate.in_flight("h:1"), 2);
}

TEST(DialGateTest, AFreedSlotGoesToTheFirstWaiterNotANewcomer) {
  DialGate gate(1);
  DialTicket a, b, c, late;
  ASSERT_TRUE(gate.Enter("h:1", &a));
  ASSERT_FALSE(gate.Enter("h:1", &b));
  ASSERT_FALSE(gate.Enter("h:1", &c));
  gate.Leave(&a);
  EXPECT_EQ(a.state, State::kOut);
  EXPECT_EQ(b.state, State::kHolding);  // handed over, in order
  EXPECT_EQ(c.state, State::kQueued);
  EXPECT_EQ(gate.in_flight("h:1"), 1);
  EXPECT_FALSE(gate.Enter("h:1", &late));  // behind c
  EXPECT_TRUE(gate.Enter("h:1", &b));
  gate.Leave(&b);
  EXPECT_EQ(c.state, State::kHolding);
  gate.Leave(&c);
  EXPECT_EQ(late.state, State::kHolding);
  gate.Leave(&late);
  EXPECT_EQ(gate.in_flight("h:1"), 0);
  EXPECT_EQ(gate.queued("h:1"), 0u);
}

TEST(DialGateTest, LeavingTheQueueGivesNoSlotAway) {
  DialGate gate(1);
  DialTicket a, b, c;
  ASSERT_TRUE(gate.Enter("h:1", &a));
  ASSERT_FALSE(gate.Enter("h:1", &b));
  ASSERT_FALSE(gate.Enter("h:1", &c));
  gate.Leave(&b);  // a link closed while it waited
  EXPECT_EQ(b.state, State::kOut);
  EXPECT_EQ(gate.queued("h:1"), 1u);
  EXPECT_EQ(gate.in_flight("h:1"), 1);
  gate.Leave(&b);  // twice is harmless
  gate.Leave(&a);
  EXPECT_EQ(c.state, State::kHolding);
}

TEST(DialGateTest, AWaiterWhoseAddressChangedQueuesForTheNewOne) {
  DialGate gate(1);
  DialTicket a, b;
  ASSERT_TRUE(gate.Enter("h:1", &a));
  ASSERT_FALSE(gate.Enter("h:1", &b));
  EXPECT_TRUE(gate.Enter("h:2", &b));
  EXPECT_EQ(gate.queued("h:1"), 0u);
  gate.Leave(&a);
  EXPECT_EQ(gate.in_flight("h:1"), 0);
}

TEST(DialGateTest, ALimitBelowOneMeansOne) {
  DialGate gate(0);
  DialTicket a, b;
  EXPECT_EQ(gate.per_address(), 1);
  EXPECT_TRUE(gate.Enter("h:1", &a));
  EXPECT_FALSE(gate.Enter("h:1", &b));
}

TEST(DialGateTest, KeysIgnoreTheCaseOfNames) {
  EXPECT_EQ(DialKey("HSM1.Example", 1792), DialKey("hsm1.example", 1792));
  EXPECT_NE(DialKey("hsm1", 1792), DialKey("hsm1", 1793));
}

}  // namespace
}  // namespace trustlink::ntl::client
