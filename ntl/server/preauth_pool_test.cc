#include "ntl/server/preauth_pool.h"

#include <sys/socket.h>
#include <unistd.h>

#include <set>

#include "gtest/gtest.h"

namespace trustlink::ntl::server::internal_engine {
namespace {

TEST(PreAuthPoolTest, AdmitsUnderTheCaps) {
  PreAuthPool pool(4, 2);
  PoolDecision a = pool.Join("10.0.0.1", 0, 1);
  PoolDecision b = pool.Join("10.0.0.2", 1, 2);
  EXPECT_TRUE(a.admitted);
  EXPECT_TRUE(b.admitted);
  EXPECT_FALSE(a.evicted);
  EXPECT_EQ(pool.total(), 2u);
  EXPECT_TRUE(pool.Leave(a.ticket));
  EXPECT_FALSE(pool.Leave(a.ticket));  // idempotent
  EXPECT_EQ(pool.total(), 1u);
}

TEST(PreAuthPoolTest, PerSourceCapEvictsTheOldestOfThatSource) {
  PreAuthPool pool(100, 2);
  pool.Join("10.0.0.1", 0, 1);
  pool.Join("10.0.0.1", 0, 2);
  pool.Join("10.0.0.9", 0, 3);
  PoolDecision d = pool.Join("10.0.0.1", 1, 4);
  ASSERT_TRUE(d.admitted);
  ASSERT_TRUE(d.evicted);
  EXPECT_EQ(d.victim.conn_id, 1u);
  EXPECT_STREQ(d.rule, "per-source");
  EXPECT_EQ(pool.total(), 3u);
}

TEST(PreAuthPoolTest, TotalCapEvictsFromTheHeaviestSource) {
  PreAuthPool pool(4, 10);
  pool.Join("10.0.0.2", 0, 1);  // the oldest, but its source holds one
  pool.Join("10.0.0.1", 0, 2);
  pool.Join("10.0.0.1", 0, 3);
  pool.Join("10.0.0.1", 0, 4);
  PoolDecision d = pool.Join("10.0.0.3", 0, 5);
  ASSERT_TRUE(d.evicted);
  EXPECT_EQ(d.victim.conn_id, 2u);
  EXPECT_EQ(d.victim.ip, "10.0.0.1");
  EXPECT_STREQ(d.rule, "total");
  EXPECT_EQ(pool.total(), 4u);
}

TEST(PreAuthPoolTest, ProtectedConnectionsAreNeverEvicted) {
  PreAuthPool pool(2, 2);
  PoolDecision a = pool.Join("10.0.0.1", 0, 1);
  PoolDecision b = pool.Join("10.0.0.1", 0, 2);
  pool.Protect(a.ticket);
  PoolDecision c = pool.Join("10.0.0.1", 0, 3);
  ASSERT_TRUE(c.evicted);
  EXPECT_EQ(c.victim.conn_id, 2u);
  pool.Protect(c.ticket);
  PoolDecision d = pool.Join("10.0.0.1", 0, 4);
  EXPECT_FALSE(d.admitted);            // nothing left to evict: refused
  EXPECT_STREQ(d.rule, "total");       // proven ones count in the total only
  EXPECT_FALSE(pool.Leave(b.ticket));  // evicted before
  EXPECT_TRUE(pool.Leave(a.ticket));
  EXPECT_EQ(pool.total(), 1u);
}

// A proven registered client (a resumed or finished handshake) leaves its
// source's count: a fleet behind one NAT address is not capped like a
// stranger, while the strangers beside it still are.
TEST(PreAuthPoolTest, ProvenClientsDoNotCountAgainstTheirSource) {
  PreAuthPool pool(100, 2);
  for (uint64_t id = 1; id <= 10; ++id) {
    PoolDecision d = pool.Join("10.0.0.1", 0, id);
    ASSERT_TRUE(d.admitted);
    EXPECT_FALSE(d.evicted) << "connection " << id;
    pool.Protect(d.ticket);
  }
  EXPECT_EQ(pool.proven(), 10u);
  EXPECT_EQ(pool.total(), 10u);
  pool.Join("10.0.0.1", 0, 11);
  pool.Join("10.0.0.1", 0, 12);
  PoolDecision d = pool.Join("10.0.0.1", 0, 13);  // two strangers: at the cap
  ASSERT_TRUE(d.evicted);
  EXPECT_EQ(d.victim.conn_id, 11u);
  EXPECT_STREQ(d.rule, "per-source");
}

// A connection whose first flight the server has not read yet waits on the
// server: it is passed over, and the oldest one that waits on its peer goes.
TEST(PreAuthPoolTest, PerSourceCapPassesOverConnectionsWaitingOnTheServer) {
  std::set<uint64_t> busy = {1};
  PreAuthPool pool(
      100, 2, [&](const PoolEntry& e) { return busy.count(e.conn_id) > 0; });
  pool.Join("10.0.0.1", 0, 1);
  pool.Join("10.0.0.1", 0, 2);
  PoolDecision d = pool.Join("10.0.0.1", 0, 3);
  ASSERT_TRUE(d.evicted);
  EXPECT_EQ(d.victim.conn_id, 2u);
}

// When every connection of the source waits on the server (a storm behind
// one address), none is evicted and the newcomer is not refused into a
// backoff either: it is admitted over the source's cap, within the total,
// where it is refused only when nothing there can make room.
TEST(PreAuthPoolTest, ABurstWaitingOnTheServerIsAdmittedWithinTheTotal) {
  PreAuthPool pool(3, 2, [](const PoolEntry&) { return true; });
  pool.Join("10.0.0.1", 0, 1);
  pool.Join("10.0.0.1", 0, 2);
  PoolDecision d = pool.Join("10.0.0.1", 0, 3);
  EXPECT_TRUE(d.admitted);
  EXPECT_FALSE(d.evicted);
  EXPECT_EQ(pool.total(), 3u);
  d = pool.Join("10.0.0.1", 0, 4);
  EXPECT_FALSE(d.admitted);
  EXPECT_FALSE(d.evicted);
  EXPECT_STREQ(d.rule, "total");
  EXPECT_TRUE(d.busy);
  EXPECT_EQ(pool.total(), 3u);
}

TEST(PreAuthPoolTest, TotalCapPassesOverABusyHeaviestSource) {
  std::set<uint64_t> busy = {1, 2, 3};
  PreAuthPool pool(
      5, 10, [&](const PoolEntry& e) { return busy.count(e.conn_id) > 0; });
  pool.Join("10.0.0.1", 0, 1);  // the heaviest source, all waiting on us
  pool.Join("10.0.0.1", 0, 2);
  pool.Join("10.0.0.1", 0, 3);
  pool.Join("10.0.0.2", 0, 4);
  pool.Join("10.0.0.2", 0, 5);
  PoolDecision d = pool.Join("10.0.0.3", 0, 6);
  ASSERT_TRUE(d.evicted);
  EXPECT_EQ(d.victim.conn_id, 4u);
  EXPECT_STREQ(d.rule, "total");
}

TEST(PreAuthPoolTest, HasUnreadInputSeesBytesNotYetRead) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  PoolEntry e;
  e.fd = sv[0];
  EXPECT_FALSE(HasUnreadInput(e));
  ASSERT_EQ(write(sv[1], "hello", 5), 5);
  EXPECT_TRUE(HasUnreadInput(e));
  char buf[8];
  ASSERT_EQ(read(sv[0], buf, sizeof(buf)), 5);
  EXPECT_FALSE(HasUnreadInput(e));
  close(sv[0]);
  close(sv[1]);
}

}  // namespace
}  // namespace trustlink::ntl::server::internal_engine
