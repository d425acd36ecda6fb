#include "ntl/internal/byte_buffer.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace trustlink::ntl::internal {

char* ByteBuffer::Tail(size_t n) {
  if (capacity_ - end_ >= n) {
    return storage_.get() + end_;
  }
  const size_t used = size();
  if (capacity_ - used >= n && used <= capacity_ / 2) {
    // Cheaper to slide the (small) unread part down than to grow.
    std::memmove(storage_.get(), storage_.get() + begin_, used);
  } else {
    const size_t capacity = std::max({capacity_ * 2, used + n, kMinStorage});
    // new char[] leaves the bytes uninitialised: that is the point.
    std::unique_ptr<char[]> grown(new char[capacity]);
    if (used > 0) {
      std::memcpy(grown.get(), storage_.get() + begin_, used);
    }
    storage_ = std::move(grown);
    capacity_ = capacity;
  }
  begin_ = 0;
  end_ = used;
  return storage_.get() + end_;
}

void ByteBuffer::Append(absl::string_view bytes) {
  if (bytes.empty()) {
    return;
  }
  std::memcpy(Tail(bytes.size()), bytes.data(), bytes.size());
  Commit(bytes.size());
}

void ByteBuffer::Consume(size_t n) {
  begin_ += std::min(n, size());
  if (begin_ == end_) {
    begin_ = end_ = 0;
  }
}

void BufferPool::Supply(ByteBuffer* buffer) {
  if (buffer->storage_ != nullptr || spares_.empty()) {
    return;
  }
  buffer->storage_ = std::move(spares_.back().storage);
  buffer->capacity_ = spares_.back().capacity;
  buffer->begin_ = buffer->end_ = 0;
  spares_.pop_back();
}

void BufferPool::Recycle(ByteBuffer* buffer) {
  if (buffer->storage_ != nullptr && buffer->capacity_ >= min_capacity_ &&
      buffer->capacity_ <= max_capacity_ && spares_.size() < max_buffers_) {
    spares_.push_back(Spare{std::move(buffer->storage_), buffer->capacity_});
  }
  buffer->storage_.reset();
  buffer->capacity_ = 0;
  buffer->begin_ = buffer->end_ = 0;
}

}  // namespace trustlink::ntl::internal
