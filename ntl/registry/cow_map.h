#ifndef TRUSTLINK_NTL_REGISTRY_COW_MAP_H_
#define TRUSTLINK_NTL_REGISTRY_COW_MAP_H_

// CowMap: a string-keyed map whose copies share structure, so that the
// registry can publish an immutable snapshot of 100,000 clients in O(1) and
// pay for a later change in O(changed keys) instead of O(N).
//
// Shape: a top array of kBuckets shared buckets, each a small hash map. A copy
// shares the top array. A change copies the top array (kBuckets shared_ptrs)
// once and each bucket it touches once, then works in place on those copies.
//
// Who may change a node in place: every node is stamped with the owner token of
// the map that made it; a map changes a node in place only when the stamp is
// its own token. Copying a map gives both the source and the copy fresh tokens,
// so from then on neither may change what they share: each copies what it
// touches. Tokens come from a process-wide counter and are never reused. This
// is why no reference counts are consulted (use_count() is a relaxed load that
// gives no happens-before with a reader on another thread dropping its copy).

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"

namespace trustlink::ntl::registry {

namespace cow_map_internal {
// NewOwnerToken returns a token no map has had before.
inline uint64_t NewOwnerToken() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace cow_map_internal

// Thread safety: a const CowMap (and any number of its copies) may be read and
// copied from many threads at once; copying a map counts as a read of it.
// Changing a map needs exclusive access to that map object only, never to its
// copies.
template <typename V>
class CowMap {
 public:
  // 1024 buckets: at 100,000 keys a bucket holds about 100, so a change copies
  // 1024 pointers plus about 100 entries per touched bucket.
  static constexpr size_t kBucketBits = 10;
  static constexpr size_t kBuckets = size_t{1} << kBucketBits;

  CowMap() : owner_(cow_map_internal::NewOwnerToken()) {}
  CowMap(const CowMap& other)
      : top_(other.top_),
        size_(other.size_),
        owner_(cow_map_internal::NewOwnerToken()) {
    other.Freeze();
  }
  CowMap& operator=(const CowMap& other) {
    if (this != &other) {
      other.Freeze();
      top_ = other.top_;
      size_ = other.size_;
      owner_.store(cow_map_internal::NewOwnerToken(),
                   std::memory_order_relaxed);
    }
    return *this;
  }
  // A move hands over the nodes and the right to change them; `other` is left
  // empty.
  CowMap(CowMap&& other) noexcept
      : top_(std::move(other.top_)),
        size_(other.size_),
        owner_(other.owner_.load(std::memory_order_relaxed)) {
    other.Reset();
  }
  CowMap& operator=(CowMap&& other) noexcept {
    if (this != &other) {
      top_ = std::move(other.top_);
      size_ = other.size_;
      owner_.store(other.owner_.load(std::memory_order_relaxed),
                   std::memory_order_relaxed);
      other.Reset();
    }
    return *this;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Find returns the value stored under `key`, or nullptr. The pointer stays
  // valid until this map object is changed or destroyed.
  const V* Find(absl::string_view key) const {
    if (top_ == nullptr) {
      return nullptr;
    }
    const Bucket* b = top_->buckets[BucketOf(key)].get();
    if (b == nullptr) {
      return nullptr;
    }
    auto it = b->entries.find(key);
    return it == b->entries.end() ? nullptr : &it->second;
  }

  // Put inserts or replaces the value under `key`.
  void Put(absl::string_view key, V value) {
    Bucket* b = MutableBucket(BucketOf(key));
    auto [it, inserted] = b->entries.try_emplace(key, std::move(value));
    if (inserted) {
      ++size_;
    } else {
      it->second = std::move(value);
    }
  }

  // Erase removes `key`; it returns whether the key was there. A missing key
  // copies nothing.
  bool Erase(absl::string_view key) {
    if (Find(key) == nullptr) {
      return false;
    }
    MutableBucket(BucketOf(key))->entries.erase(key);
    --size_;
    return true;
  }

  // ForEach calls fn(key, value) for every entry, in no particular order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    if (top_ == nullptr) {
      return;
    }
    for (const auto& b : top_->buckets) {
      if (b == nullptr) {
        continue;
      }
      for (const auto& [key, value] : b->entries) {
        fn(key, value);
      }
    }
  }

  // SharesBucketWith says whether `key`'s bucket is the same object in both
  // maps (for tests that check structure is shared, not copied).
  bool SharesBucketWith(const CowMap& other, absl::string_view key) const {
    if (top_ == nullptr || other.top_ == nullptr) {
      return false;
    }
    size_t i = BucketOf(key);
    return top_->buckets[i] != nullptr &&
           top_->buckets[i] == other.top_->buckets[i];
  }

 private:
  struct Bucket {
    uint64_t owner = 0;
    absl::flat_hash_map<std::string, V> entries;
  };
  struct Top {
    uint64_t owner = 0;
    std::array<std::shared_ptr<Bucket>, kBuckets> buckets;
  };

  // BucketOf takes the top bits of the hash: the bucket's own flat_hash_map
  // uses the low bits, which must still vary within a bucket.
  static size_t BucketOf(absl::string_view key) {
    uint64_t h = absl::Hash<absl::string_view>{}(key);
    return static_cast<size_t>(h >> (64 - kBucketBits));
  }

  uint64_t owner() const { return owner_.load(std::memory_order_relaxed); }

  // Freeze ends this map's right to change the nodes it holds now. It is const
  // because copying a const map must freeze it; the token is atomic so that
  // concurrent copies of one map do not race.
  void Freeze() const {
    owner_.store(cow_map_internal::NewOwnerToken(), std::memory_order_relaxed);
  }

  void Reset() {
    top_.reset();
    size_ = 0;
    owner_.store(cow_map_internal::NewOwnerToken(), std::memory_order_relaxed);
  }

  Top* MutableTop() {
    if (top_ == nullptr || top_->owner != owner()) {
      auto top = std::make_shared<Top>();
      top->owner = owner();
      if (top_ != nullptr) {
        top->buckets = top_->buckets;
      }
      top_ = std::move(top);
    }
    return top_.get();
  }

  Bucket* MutableBucket(size_t i) {
    std::shared_ptr<Bucket>& slot = MutableTop()->buckets[i];
    if (slot == nullptr || slot->owner != owner()) {
      auto bucket = std::make_shared<Bucket>();
      bucket->owner = owner();
      if (slot != nullptr) {
        bucket->entries = slot->entries;
      }
      slot = std::move(bucket);
    }
    return slot.get();
  }

  std::shared_ptr<Top> top_;
  size_t size_ = 0;
  mutable std::atomic<uint64_t> owner_;
};

}  // namespace trustlink::ntl::registry

#endif  // TRUSTLINK_NTL_REGISTRY_COW_MAP_H_
