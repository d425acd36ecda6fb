// The connection budget (docs/server.md, "Connection budget"): caps derived
// from the descriptor limit, so the server never runs itself out of
// descriptors.

#include <algorithm>
#include <cstdint>

#include "ntl/server/server.h"

namespace trustlink::ntl::server {

ConnectionLimits DeriveLimits(const ServerOptions& o,
                              uint64_t descriptor_limit) {
  ConnectionLimits l;
  const uint64_t huge = uint64_t{1} << 40;
  const uint64_t limit = std::min<uint64_t>(descriptor_limit, huge);
  l.descriptor_limit = static_cast<size_t>(limit);
  // Below the reserve there is no sensible split; serve a handful rather than
  // nothing, and say so in the listening line (the limits are logged).
  const uint64_t budget = limit > o.reserved_descriptors + 8
                              ? limit - o.reserved_descriptors
                              : std::max<uint64_t>(limit / 4, 2);
  l.max_unauthenticated = static_cast<size_t>(std::min<uint64_t>(
      o.max_unauthenticated, std::max<uint64_t>(budget / 4, 1)));
  l.max_unauthenticated_per_ip = std::max<size_t>(
      1, std::min(o.max_unauthenticated_per_ip, l.max_unauthenticated));
  l.max_links = static_cast<size_t>(budget - l.max_unauthenticated);
  if (o.max_links != 0) {
    l.max_links = std::min(l.max_links, o.max_links);
  }
  return l;
}

}  // namespace trustlink::ntl::server
