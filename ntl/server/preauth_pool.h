#ifndef TRUSTLINK_NTL_SERVER_PREAUTH_POOL_H_
#define TRUSTLINK_NTL_SERVER_PREAUTH_POOL_H_

// PreAuthPool: the connections that have not yet been admitted, counted in
// total and per source address, with eviction instead of refusal when a cap
// is reached (docs/server.md, "Connection budget"). Private to ntl/server.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>

namespace trustlink::ntl::server::internal_engine {

// PoolEntry names a pooled connection: its loop and its id there.
struct PoolEntry {
  int loop = 0;
  uint64_t conn_id = 0;
  std::string ip;
  // protected_ is set once the connection presented a registered client's
  // certificate from an allowed address: strangers cannot evict it.
  bool protected_ = false;
};

// PoolDecision is what Join decided for a new connection.
struct PoolDecision {
  bool admitted = false;
  uint64_t ticket = 0;   // for Release and Protect, when admitted
  bool evicted = false;  // `victim` must be closed by its loop
  PoolEntry victim;
  const char* rule = "";  // the cap that bit: "per-source" or "total"
};

// Thread safety: not thread-safe; Server guards it with its stats lock.
class PreAuthPool {
 public:
  PreAuthPool(size_t max_total, size_t max_per_source)
      : max_total_(max_total), max_per_source_(max_per_source) {}

  // Join counts a new connection from `ip`. At the per-source cap the oldest
  // unprotected connection of the same source makes room; at the total cap,
  // the oldest unprotected one of the source holding the most. The victim
  // leaves the pool at once (its loop closes it); with no victim to take,
  // the new connection is refused.
  PoolDecision Join(const std::string& ip, int loop, uint64_t conn_id);
  // Leave removes a connection; false when it was already evicted.
  bool Leave(uint64_t ticket);
  // Protect exempts a connection from eviction.
  void Protect(uint64_t ticket);

  size_t total() const { return total_; }
  size_t max_total() const { return max_total_; }
  size_t max_per_source() const { return max_per_source_; }

 private:
  // Oldest unprotected entry of `source`, or end().
  std::map<uint64_t, PoolEntry>::iterator OldestEvictable(
      std::map<uint64_t, PoolEntry>* source);
  PoolEntry Evict(const std::string& ip,
                  std::map<uint64_t, PoolEntry>::iterator it);

  const size_t max_total_;
  const size_t max_per_source_;
  size_t total_ = 0;
  uint64_t next_ticket_ = 1;
  // Per source, by ticket: tickets grow, so the first is the oldest.
  std::unordered_map<std::string, std::map<uint64_t, PoolEntry>> sources_;
  std::unordered_map<uint64_t, std::string> source_of_;
};

}  // namespace trustlink::ntl::server::internal_engine

#endif  // TRUSTLINK_NTL_SERVER_PREAUTH_POOL_H_
