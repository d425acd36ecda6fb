#ifndef TRUSTLINK_NTL_SERVER_PREAUTH_POOL_H_
#define TRUSTLINK_NTL_SERVER_PREAUTH_POOL_H_

// PreAuthPool: the connections that have not yet been admitted, counted in
// total and per source address, with eviction instead of refusal when a cap
// is reached (docs/server.md, "Connection budget"). Private to ntl/server.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace trustlink::ntl::server::internal_engine {

// PoolEntry names a pooled connection: its loop, its id there, its source and
// its socket (to ask whether it has input the server has not read yet).
struct PoolEntry {
  int loop = 0;
  uint64_t conn_id = 0;
  std::string ip;
  int fd = -1;
};

// PoolDecision is what Join decided for a new connection.
struct PoolDecision {
  bool admitted = false;
  uint64_t ticket = 0;   // for Release and Protect, when admitted
  bool evicted = false;  // `victim` must be closed by its loop
  PoolEntry victim;
  const char* rule = "";  // the cap that bit: "per-source" or "total"
  // When refused: whether what fills the cap waits on the server (a burst
  // being served) rather than being proven registered clients.
  bool busy = false;
};

// HasUnreadInput says whether the socket of `e` holds bytes the server has not
// read yet (FIONREAD): the connection waits on the server, not the other way
// round. The pool's default Busy test.
bool HasUnreadInput(const PoolEntry& e);

// Thread safety: not thread-safe; Server guards it with its stats lock. Every
// entry's socket stays open while it is in the pool (a connection leaves the
// pool before its loop closes it), so Busy may look at it.
class PreAuthPool {
 public:
  // Busy says whether a connection is waiting on the server (its first
  // flight not read yet): such a connection is not evicted, since it has had
  // no chance to finish its handshake.
  using Busy = std::function<bool(const PoolEntry&)>;

  PreAuthPool(size_t max_total, size_t max_per_source,
              Busy busy = HasUnreadInput)
      : max_total_(max_total),
        max_per_source_(max_per_source),
        busy_(std::move(busy)) {}

  // Join counts a new connection from `ip`. At the per-source cap the oldest
  // idle unproven connection of the same source makes room (when the oldest
  // all wait on the server, none does: a burst is admitted over the source's
  // cap); at the total cap, the oldest idle unproven one of the source
  // holding the most unproven ones. The victim leaves the pool at once (its
  // loop closes it); with no victim to take at the total cap, the new
  // connection is refused.
  PoolDecision Join(const std::string& ip, int loop, uint64_t conn_id,
                    int fd = -1);
  // Leave removes a connection; false when it was already evicted.
  bool Leave(uint64_t ticket);
  // Protect marks a connection as a proven registered client: it is never
  // evicted, and it no longer counts against its source's cap (only against
  // the total), so a fleet behind one NAT address is not capped like a
  // stranger.
  void Protect(uint64_t ticket);

  size_t total() const { return total_; }
  size_t proven() const { return proven_.size(); }
  size_t max_total() const { return max_total_; }
  size_t max_per_source() const { return max_per_source_; }

 private:
  using Source = std::map<uint64_t, PoolEntry>;  // by ticket: oldest first
  // OldestIdle is the oldest entry of `source` that Busy does not hold back,
  // looking at no more than a few; or end().
  Source::iterator OldestIdle(Source* source);
  // Unlink takes an unproven connection out of its source (not out of the
  // total), moving its entry to `out` if given; false when it is not there.
  bool Unlink(uint64_t ticket, PoolEntry* out);
  // TotalVictim finds the total cap's victim; false when there is none.
  bool TotalVictim(uint64_t* ticket);

  const size_t max_total_;
  const size_t max_per_source_;
  const Busy busy_;
  size_t total_ = 0;
  uint64_t next_ticket_ = 1;
  // Unproven connections per source, and the source of each by ticket.
  std::unordered_map<std::string, Source> sources_;
  std::unordered_map<uint64_t, std::string> source_of_;
  // Proven registered clients (Protect): in the total only.
  std::unordered_set<uint64_t> proven_;
};

}  // namespace trustlink::ntl::server::internal_engine

#endif  // TRUSTLINK_NTL_SERVER_PREAUTH_POOL_H_
