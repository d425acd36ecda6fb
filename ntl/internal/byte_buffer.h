#ifndef TRUSTLINK_NTL_INTERNAL_BYTE_BUFFER_H_
#define TRUSTLINK_NTL_INTERNAL_BYTE_BUFFER_H_

// ByteBuffer and BufferPool: the receive buffers of the data path.
//
// std::string::resize zero-fills what it adds, so reading a 256 KiB frame
// through it cost a memset of every 64 KiB chunk before SSL_read overwrote it,
// and freeing the buffer when a connection went idle handed the pages back to
// the kernel, to be faulted in again by the next large call (issue 16: 352
// page faults per 256 KiB echo). A ByteBuffer's free tail is never
// initialised, and a BufferPool keeps a few large storages per event loop so a
// steady stream of large calls reuses warm pages while idle connections hold
// none.

#include <cstddef>
#include <memory>
#include <vector>

#include "absl/strings/string_view.h"

namespace trustlink::ntl::internal {

// ByteBuffer is a byte queue: appended at the back, consumed at the front.
// Thread safety: not thread-safe.
class ByteBuffer {
 public:
  ByteBuffer() = default;
  ByteBuffer(ByteBuffer&&) = default;
  ByteBuffer& operator=(ByteBuffer&&) = default;

  const char* data() const { return storage_.get() + begin_; }
  size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  size_t capacity() const { return capacity_; }
  absl::string_view view() const { return absl::string_view(data(), size()); }

  // Tail returns room for at least `n` more bytes after the content, growing
  // or compacting the storage as needed. The room is not initialised; Commit
  // says how much of it was written.
  char* Tail(size_t n);
  // Commit adds `n` bytes written at Tail() to the content.
  void Commit(size_t n) { end_ += n; }
  // kMinStorage is the least Tail allocates: one TLS record's worth, so a
  // frame built from a header and a payload does not allocate twice.
  static constexpr size_t kMinStorage = 16 * 1024;
  void Append(absl::string_view bytes);
  // Consume drops `n` bytes from the front.
  void Consume(size_t n);
  void Clear() { begin_ = end_ = 0; }

 private:
  friend class BufferPool;
  std::unique_ptr<char[]> storage_;
  size_t capacity_ = 0;
  size_t begin_ = 0;
  size_t end_ = 0;
};

// BufferPool keeps up to `max_buffers` spare storages of `min_capacity` to
// `max_capacity` bytes: smaller ones are cheap to allocate, and larger ones
// (a rare maximum-size frame) are not worth holding on to.
// Thread safety: not thread-safe; one per loop.
class BufferPool {
 public:
  BufferPool(size_t max_buffers, size_t min_capacity, size_t max_capacity)
      : max_buffers_(max_buffers),
        min_capacity_(min_capacity),
        max_capacity_(max_capacity) {}

  // Supply gives an empty `buffer` without storage a spare one, if any.
  void Supply(ByteBuffer* buffer);
  // Recycle takes the storage of an empty `buffer` (keeping it when it is
  // large enough and the pool has room) and leaves `buffer` without storage.
  void Recycle(ByteBuffer* buffer);
  size_t spares() const { return spares_.size(); }

 private:
  struct Spare {
    std::unique_ptr<char[]> storage;
    size_t capacity;
  };
  const size_t max_buffers_;
  const size_t min_capacity_;
  const size_t max_capacity_;
  std::vector<Spare> spares_;
};

}  // namespace trustlink::ntl::internal

#endif  // TRUSTLINK_NTL_INTERNAL_BYTE_BUFFER_H_
