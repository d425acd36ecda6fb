#include "ntl/client/deadline_queue.h"

#include <algorithm>

namespace trustlink::ntl::client {
namespace {

// Later compares so that std::*_heap keep the earliest deadline on top.
bool Later(const DeadlineQueue::Entry& a, const DeadlineQueue::Entry& b) {
  return a.deadline > b.deadline;
}

}  // namespace

void DeadlineQueue::Add(absl::Time deadline, uint32_t id, uint64_t token) {
  heap_.push_back(Entry{deadline, id, token});
  std::push_heap(heap_.begin(), heap_.end(), Later);
  ++live_;
}

void DeadlineQueue::Pop(bool was_live) {
  std::pop_heap(heap_.begin(), heap_.end(), Later);
  heap_.pop_back();
  if (was_live && live_ > 0) {
    --live_;
  }
}

void DeadlineQueue::Heapify() {
  std::make_heap(heap_.begin(), heap_.end(), Later);
}

}  // namespace trustlink::ntl::client
