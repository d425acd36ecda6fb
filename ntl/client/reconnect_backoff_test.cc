#include "ntl/client/reconnect_backoff.h"

#include <algorithm>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace trustlink::ntl::client {
namespace {

using absl::Milliseconds;
using absl::Seconds;

const absl::Time kT0 = absl::FromUnixSeconds(1000000);

// Steps returns the un-jittered steps of `n` failures of one kind, one a
// `gap` apart from kT0 on, the first the loss of a link that was up.
std::vector<absl::Duration> Steps(ReconnectBackoff* b, AttemptFailure kind,
                                  int n, absl::Duration gap) {
  std::vector<absl::Duration> out;
  for (int i = 0; i < n; ++i) {
    // jitter 1 gives the whole step.
    out.push_back(b->Next(kind, i == 0, kT0 + gap * i, 1.0));
  }
  return out;
}

TEST(ReconnectBackoffTest, DoublesFromMinToMax) {
  ReconnectBackoff b(ReconnectPolicy{});
  EXPECT_EQ(Steps(&b, AttemptFailure::kOther, 11, Milliseconds(10)),
            (std::vector<absl::Duration>{
                Milliseconds(100), Milliseconds(200), Milliseconds(400),
                Milliseconds(800), Milliseconds(1600), Milliseconds(3200),
                Milliseconds(6400), Milliseconds(12800), Milliseconds(25600),
                Seconds(30), Seconds(30)}));
  EXPECT_EQ(b.level(), 11);
}

TEST(ReconnectBackoffTest, JitterIsHalfToAllOfTheStep) {
  ReconnectBackoff b(ReconnectPolicy{});
  EXPECT_EQ(b.Next(AttemptFailure::kOther, false, kT0, 0.0), Milliseconds(50));
  EXPECT_EQ(b.Next(AttemptFailure::kOther, false, kT0, 0.5), Milliseconds(150));
  // Out of range draws are clamped, never a negative or a doubled wait.
  EXPECT_EQ(b.Next(AttemptFailure::kOther, false, kT0, -3.0),
            Milliseconds(200));
  EXPECT_EQ(b.Next(AttemptFailure::kOther, false, kT0, 7.0), Milliseconds(800));
}

// A restart: the link was up, then every attempt is refused (nothing listens
// on the port). Before, the step grew to 1.6 s after five refusals, so links
// came back up to 1.6 s after the server did.
TEST(ReconnectBackoffTest, RefusedSoonAfterAnUpLinkStopsGrowingAtRefusedMax) {
  ReconnectBackoff b(ReconnectPolicy{});
  EXPECT_EQ(Steps(&b, AttemptFailure::kRefused, 7, Milliseconds(300)),
            (std::vector<absl::Duration>{Milliseconds(100), Milliseconds(200),
                                         Milliseconds(400), Milliseconds(500),
                                         Milliseconds(500), Milliseconds(500),
                                         Milliseconds(500)}));
}

TEST(ReconnectBackoffTest, RefusedForLongerThanTheWindowGrowsAgain) {
  ReconnectPolicy p;
  p.refused_window = Seconds(10);
  ReconnectBackoff b(p);
  ASSERT_EQ(b.Next(AttemptFailure::kRefused, true, kT0, 1.0),
            Milliseconds(100));
  for (int i = 1; i < 10; ++i) {
    ASSERT_EQ(b.Next(AttemptFailure::kRefused, false, kT0 + Seconds(i), 1.0),
              std::min(Milliseconds(100 << std::min(i, 8)), Milliseconds(500)));
  }
  // 10 s after the loss: an appliance that stays down gets the ordinary
  // schedule again, not a probe every half second for ever; it doubles on
  // from where the cap held it.
  EXPECT_EQ(b.Next(AttemptFailure::kRefused, false, kT0 + Seconds(10), 1.0),
            Milliseconds(800));
  EXPECT_EQ(b.Next(AttemptFailure::kRefused, false, kT0 + Seconds(11), 1.0),
            Milliseconds(1600));
}

// Seen in a 5,000-link storm: a link refused 10 times while ntlsd restarted,
// then one attempt failed otherwise (a reset, say), and its next
// step had grown unseen to 30 s.
TEST(ReconnectBackoffTest, AnotherFailureAfterCappedRefusalsDoublesFromTheCap) {
  ReconnectBackoff b(ReconnectPolicy{});
  b.Next(AttemptFailure::kRefused, true, kT0, 1.0);
  for (int i = 1; i < 10; ++i) {
    b.Next(AttemptFailure::kRefused, false, kT0 + Milliseconds(300 * i), 1.0);
  }
  EXPECT_EQ(b.Next(AttemptFailure::kOther, false, kT0 + Seconds(3), 1.0),
            Milliseconds(800));
}

TEST(ReconnectBackoffTest, OtherFailuresKeepTheFullSchedule) {
  ReconnectBackoff b(ReconnectPolicy{});
  // A timeout or a refusal at the appliance's cap (it is busy) after the
  // link was lost: no shortcut.
  Steps(&b, AttemptFailure::kOther, 5, Milliseconds(10));
  EXPECT_EQ(b.Next(AttemptFailure::kOther, false, kT0 + Seconds(1), 1.0),
            Milliseconds(3200));
  // Refused in between, still in the window: capped.
  EXPECT_EQ(b.Next(AttemptFailure::kRefused, false, kT0 + Seconds(2), 1.0),
            Milliseconds(500));
}

TEST(ReconnectBackoffTest, RefusedWithoutAnUpLinkKeepsTheFullSchedule) {
  // A client that starts while the appliance is down has no restart to wait
  // out: a fleet booting against a dead appliance must not probe it twice a
  // second each.
  ReconnectBackoff b(ReconnectPolicy{});
  for (int i = 0; i < 5; ++i) {
    b.Next(AttemptFailure::kRefused, false, kT0 + Seconds(i), 1.0);
  }
  EXPECT_EQ(b.Next(AttemptFailure::kRefused, false, kT0 + Seconds(5), 1.0),
            Milliseconds(3200));
}

TEST(ReconnectBackoffTest, UpStartsAgainFromMin) {
  ReconnectBackoff b(ReconnectPolicy{});
  Steps(&b, AttemptFailure::kOther, 6, Milliseconds(10));
  b.OnUp();
  EXPECT_EQ(b.level(), 0);
  EXPECT_EQ(b.Next(AttemptFailure::kOther, true, kT0 + Seconds(60), 1.0),
            Milliseconds(100));
}

TEST(ReconnectBackoffTest, RefusedMaxStaysWithinMinAndMax) {
  ReconnectPolicy p;
  p.min = Milliseconds(20);
  p.max = Milliseconds(200);  // below the default refused_max
  ReconnectBackoff b(p);
  EXPECT_EQ(Steps(&b, AttemptFailure::kRefused, 6, Milliseconds(1)).back(),
            Milliseconds(200));
  p.min = Seconds(1);  // above it
  p.max = Seconds(30);
  ReconnectBackoff c(p);
  EXPECT_EQ(Steps(&c, AttemptFailure::kRefused, 3, Milliseconds(1)),
            (std::vector<absl::Duration>{Seconds(1), Seconds(1), Seconds(1)}));
}

TEST(ReconnectBackoffTest, RandomJitterIsInTheUnitInterval) {
  for (int i = 0; i < 1000; ++i) {
    const double r = RandomJitter();
    ASSERT_GE(r, 0.0);
    ASSERT_LT(r, 1.0);
  }
}

}  // namespace
}  // namespace trustlink::ntl::client
