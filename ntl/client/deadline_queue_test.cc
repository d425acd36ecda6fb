#include "ntl/client/deadline_queue.h"

#include <set>
#include <utility>

#include "gtest/gtest.h"

namespace trustlink::ntl::client {
namespace {

absl::Time At(int s) { return absl::UnixEpoch() + absl::Seconds(s); }

TEST(DeadlineQueueTest, TopIsTheEarliestDeadline) {
  DeadlineQueue q;
  EXPECT_EQ(q.Next(), absl::InfiniteFuture());
  q.Add(At(30), 1, 1);
  q.Add(At(10), 2, 2);
  q.Add(At(20), 3, 3);
  EXPECT_EQ(q.Top().id, 2u);
  q.Pop(true);
  EXPECT_EQ(q.Top().id, 3u);
  q.Pop(true);
  EXPECT_EQ(q.Top().id, 1u);
  q.Pop(true);
  EXPECT_TRUE(q.empty());
}

TEST(DeadlineQueueTest, ForgottenEntriesAreCompactedAwayAndLiveOnesKept) {
  DeadlineQueue q;
  std::set<std::pair<uint32_t, uint64_t>> live;
  uint64_t token = 0;
  // A window of 8 calls in flight, 10,000 answered: the heap stays small.
  for (uint32_t i = 0; i < 10000; ++i) {
    q.Add(At(static_cast<int>(i)), i % 8, ++token);
    live.insert({i % 8, token});
    if (live.size() > 8) {
      live.erase(live.begin());  // stand-in for an answered call
    }
    if (i >= 8) {
      q.Forget();
      if (q.NeedsCompaction()) {
        q.Compact([&](const DeadlineQueue::Entry& e) {
          return live.count({e.id, e.token}) != 0;
        });
      }
    }
    ASSERT_LE(q.size(), 2 * 8 + 64 + 1u);
  }
}

TEST(DeadlineQueueTest, ClearEmpties) {
  DeadlineQueue q;
  q.Add(At(1), 1, 1);
  q.Clear();
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.NeedsCompaction());
}

}  // namespace
}  // namespace trustlink::ntl::client
