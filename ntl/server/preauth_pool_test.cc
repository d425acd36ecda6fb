#include "ntl/server/preauth_pool.h"

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
  EXPECT_FALSE(d.admitted);  // nothing left to evict: refused
  EXPECT_STREQ(d.rule, "per-source");
  EXPECT_FALSE(pool.Leave(b.ticket));  // evicted before
  EXPECT_TRUE(pool.Leave(a.ticket));
  EXPECT_EQ(pool.total(), 1u);
}

}  // namespace
}  // namespace trustlink::ntl::server::internal_engine
