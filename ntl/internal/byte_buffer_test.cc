#include "ntl/internal/byte_buffer.h"

#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace trustlink::ntl::internal {
namespace {

TEST(ByteBufferTest, AppendsCommitsAndConsumesInOrder) {
  ByteBuffer b;
  b.Append("hello ");
  char* tail = b.Tail(5);
  std::memcpy(tail, "world", 5);
  b.Commit(5);
  EXPECT_EQ(b.view(), "hello world");
  b.Consume(6);
  EXPECT_EQ(b.view(), "world");
  b.Consume(100);  // more than there is: empties, no overrun
  EXPECT_TRUE(b.empty());
}

TEST(ByteBufferTest, GrowingKeepsUnreadBytes) {
  ByteBuffer b;
  b.Append("abcdef");
  b.Consume(2);
  std::string big(100000, 'x');
  b.Append(big);
  EXPECT_EQ(b.size(), 4 + big.size());
  EXPECT_EQ(b.view().substr(0, 4), "cdef");
  EXPECT_GE(b.capacity(), b.size());
}

TEST(ByteBufferTest, CompactsInsteadOfGrowingWhenMostIsConsumed) {
  ByteBuffer b;
  b.Append(std::string(1000, 'a'));
  const size_t capacity = b.capacity();
  b.Consume(990);
  b.Tail(capacity - 10);  // fits once the 10 unread bytes slide down
  EXPECT_EQ(b.capacity(), capacity);
  EXPECT_EQ(b.view(), std::string(10, 'a'));
}

TEST(BufferPoolTest, ReusesLargeStorageAndDropsSmall) {
  BufferPool pool(/*max_buffers=*/1, /*min_capacity=*/32 * 1024,
                  /*max_capacity=*/1 << 20);
  ByteBuffer big;
  big.Tail(64 * 1024);
  const char* storage = big.Tail(1);
  pool.Recycle(&big);
  EXPECT_EQ(big.capacity(), 0u);
  EXPECT_EQ(pool.spares(), 1u);

  ByteBuffer small;
  small.Append("x");
  small.Consume(1);
  pool.Recycle(&small);  // too small to keep
  EXPECT_EQ(pool.spares(), 1u);
  ByteBuffer huge;
  huge.Tail(2 << 20);
  pool.Recycle(&huge);  // too large to keep
  EXPECT_EQ(pool.spares(), 1u);

  ByteBuffer next;
  pool.Supply(&next);
  EXPECT_EQ(pool.spares(), 0u);
  EXPECT_GE(next.capacity(), 64u * 1024);
  EXPECT_EQ(next.Tail(1), storage);  // the same warm pages
}

TEST(BufferPoolTest, KeepsAtMostItsLimit) {
  BufferPool pool(/*max_buffers=*/2, /*min_capacity=*/16,
                  /*max_capacity=*/1 << 20);
  for (int i = 0; i < 5; ++i) {
    ByteBuffer b;
    b.Tail(64);
    pool.Recycle(&b);
  }
  EXPECT_EQ(pool.spares(), 2u);
}

}  // namespace
}  // namespace trustlink::ntl::internal
