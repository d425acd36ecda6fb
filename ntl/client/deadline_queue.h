#ifndef TRUSTLINK_NTL_CLIENT_DEADLINE_QUEUE_H_
#define TRUSTLINK_NTL_CLIENT_DEADLINE_QUEUE_H_

// DeadlineQueue: the deadlines of a link's calls in flight, earliest first,
// without a node allocation per call (the std::set it replaces made one for
// every call and freed it at the answer).
//
// It is a binary heap with lazy removal: an answered call's entry stays until
// it reaches the top or the heap is compacted, and the owner tells live
// entries from stale ones by the call's (id, token), since ids are reused. The
// heap is compacted when it holds more than twice the live calls (plus
// slack), so it stays O(calls in flight) and a stale entry is never older than
// a few windows of calls: its deadline is as far off as a live one's, so the
// top never wakes the loop early by much.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/time/time.h"

namespace trustlink::ntl::client {

// Thread safety: not thread-safe (the owning Connection's).
class DeadlineQueue {
 public:
  struct Entry {
    absl::Time deadline;
    uint32_t id;
    uint64_t token;
  };

  void Add(absl::Time deadline, uint32_t id, uint64_t token);
  // Forget notes that one live call left without reaching its deadline; its
  // entry goes later. Compact may then be due (NeedsCompaction).
  void Forget() {
    if (live_ > 0) {
      --live_;
    }
  }
  bool NeedsCompaction() const { return heap_.size() > 2 * live_ + kSlack; }
  // Compact drops every entry for which `is_live(entry)` is false.
  template <typename IsLive>
  void Compact(IsLive is_live) {
    size_t kept = 0;
    for (const Entry& e : heap_) {
      if (is_live(e)) {
        heap_[kept++] = e;
      }
    }
    heap_.resize(kept);
    live_ = kept;
    Heapify();
  }
  // Top is the earliest entry, live or stale; Next its deadline
  // (InfiniteFuture when empty).
  bool empty() const { return heap_.empty(); }
  const Entry& Top() const { return heap_.front(); }
  absl::Time Next() const {
    return heap_.empty() ? absl::InfiniteFuture() : heap_.front().deadline;
  }
  // Pop removes the top; `was_live` says whether it counted as live.
  void Pop(bool was_live);
  void Clear() {
    heap_.clear();
    live_ = 0;
  }
  size_t size() const { return heap_.size(); }

 private:
  static constexpr size_t kSlack = 64;
  void Heapify();

  std::vector<Entry> heap_;
  size_t live_ = 0;
};

}  // namespace trustlink::ntl::client

#endif  // TRUSTLINK_NTL_CLIENT_DEADLINE_QUEUE_H_
