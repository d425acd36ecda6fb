#include "ntl/registry/cow_map.h"

#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace trustlink::ntl::registry {
namespace {

CowMap<int> Numbers(int n) {
  CowMap<int> m;
  for (int i = 0; i < n; ++i) {
    m.Put(absl::StrCat("key-", i), i);
  }
  return m;
}

std::map<std::string, int> Contents(const CowMap<int>& m) {
  std::map<std::string, int> out;
  m.ForEach([&out](const std::string& k, int v) { out[k] = v; });
  return out;
}

TEST(CowMapTest, PutFindEraseLikeAMap) {
  CowMap<int> m;
  EXPECT_EQ(m.Find("a"), nullptr);
  m.Put("a", 1);
  m.Put("b", 2);
  m.Put("a", 3);
  ASSERT_NE(m.Find("a"), nullptr);
  EXPECT_EQ(*m.Find("a"), 3);
  EXPECT_EQ(m.size(), 2u);
  EXPECT_TRUE(m.Erase("a"));
  EXPECT_FALSE(m.Erase("a"));
  EXPECT_EQ(m.Find("a"), nullptr);
  EXPECT_EQ(m.size(), 1u);
}

TEST(CowMapTest, ManyKeysAllFoundAndIterated) {
  CowMap<int> m = Numbers(20000);
  EXPECT_EQ(m.size(), 20000u);
  for (int i = 0; i < 20000; i += 7) {
    const int* v = m.Find(absl::StrCat("key-", i));
    ASSERT_NE(v, nullptr) << i;
    EXPECT_EQ(*v, i);
  }
  EXPECT_EQ(Contents(m).size(), 20000u);
}

TEST(CowMapTest, ChangingTheSourceDoesNotShowInACopy) {
  CowMap<int> m = Numbers(5000);
  const CowMap<int> copy = m;
  m.Put("key-1", 100);
  m.Put("new", 7);
  m.Erase("key-2");
  EXPECT_EQ(*copy.Find("key-1"), 1);
  EXPECT_EQ(copy.Find("new"), nullptr);
  ASSERT_NE(copy.Find("key-2"), nullptr);
  EXPECT_EQ(copy.size(), 5000u);
  EXPECT_EQ(*m.Find("key-1"), 100);
  EXPECT_EQ(m.size(), 5000u);
}

TEST(CowMapTest, ChangingACopyDoesNotShowInTheSource) {
  const CowMap<int> m = Numbers(5000);
  CowMap<int> copy = m;
  copy.Put("key-1", 100);
  copy.Erase("key-3");
  EXPECT_EQ(*m.Find("key-1"), 1);
  EXPECT_NE(m.Find("key-3"), nullptr);
  EXPECT_EQ(*copy.Find("key-1"), 100);
  EXPECT_EQ(copy.Find("key-3"), nullptr);
}

TEST(CowMapTest, CopyAssignmentFreezesBothSides) {
  CowMap<int> m = Numbers(100);
  CowMap<int> other;
  other = m;
  m.Put("key-5", -5);
  other.Put("key-6", -6);
  EXPECT_EQ(*m.Find("key-6"), 6);
  EXPECT_EQ(*other.Find("key-5"), 5);
}

TEST(CowMapTest, AChangeCopiesOnlyTheTouchedBucket) {
  CowMap<int> m = Numbers(50000);
  const CowMap<int> before = m;
  m.Put("key-1", 100);
  EXPECT_FALSE(m.SharesBucketWith(before, "key-1"));
  int shared = 0, total = 0;
  for (int i = 0; i < 50000; i += 13) {
    ++total;
    shared += m.SharesBucketWith(before, absl::StrCat("key-", i)) ? 1 : 0;
  }
  // Only keys that happen to share key-1's bucket (1 in 1024) are unshared.
  EXPECT_GT(shared, total - total / 100);
}

TEST(CowMapTest, ChainOfSnapshotsEachKeepsItsOwnView) {
  CowMap<int> live;
  std::vector<CowMap<int>> snapshots;
  for (int i = 0; i < 200; ++i) {
    live.Put(absl::StrCat("key-", i % 37), i);
    snapshots.push_back(live);
  }
  for (int i = 0; i < 200; ++i) {
    std::map<std::string, int> expected;
    for (int j = 0; j <= i; ++j) {
      expected[absl::StrCat("key-", j % 37)] = j;
    }
    EXPECT_EQ(Contents(snapshots[i]), expected) << i;
  }
}

TEST(CowMapTest, MoveHandsOverTheContents) {
  CowMap<int> m = Numbers(10);
  CowMap<int> moved = std::move(m);
  EXPECT_EQ(moved.size(), 10u);
  moved.Put("key-0", 42);
  EXPECT_EQ(*moved.Find("key-0"), 42);
  CowMap<int> again;
  again = std::move(moved);
  EXPECT_EQ(*again.Find("key-0"), 42);
}

TEST(CowMapTest, ValuesAreReleasedWithTheLastMapHoldingThem) {
  auto value = std::make_shared<int>(1);
  std::weak_ptr<int> watch = value;
  {
    CowMap<std::shared_ptr<int>> m;
    m.Put("v", std::move(value));
    CowMap<std::shared_ptr<int>> copy = m;
    m.Erase("v");
    EXPECT_FALSE(watch.expired());
  }
  EXPECT_TRUE(watch.expired());
}

}  // namespace
}  // namespace trustlink::ntl::registry
