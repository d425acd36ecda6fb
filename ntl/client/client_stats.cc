// Client::Stats: the client's counters, with each link's handshakes and bytes
// read under the lock that guards the connections.
#include "ntl/client/client.h"

namespace trustlink::ntl::client {

stats::StatList Client::Stats() {
  stats::LinkCounters links;
  {
    internal::MutexLock lock(&mu_);
    for (const std::unique_ptr<Connection>& c : conns_) {
      links += c->link_stats();
    }
  }
  return stats_.Snapshot(links);
}

}  // namespace trustlink::ntl::client
