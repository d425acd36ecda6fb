#include "ntl/server/preauth_pool.h"

#include <sys/ioctl.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace trustlink::ntl::server::internal_engine {
namespace {

// How many of a source's oldest connections Join asks Busy about before it
// gives up on that source: a bound on the system calls made under the lock.
// In a storm the oldest are the busy ones (accepted in a burst, their hellos
// queued); past a few, the source is simply being served.
constexpr int kMaxBusyChecks = 8;
// And over every source, at the total cap.
constexpr int kMaxTotalChecks = 64;

}  // namespace

bool HasUnreadInput(const PoolEntry& e) {
  int n = 0;
  return e.fd >= 0 && ioctl(e.fd, FIONREAD, &n) == 0 && n > 0;
}

PreAuthPool::Source::iterator PreAuthPool::OldestIdle(Source* source) {
  int checked = 0;
  for (auto it = source->begin();
       it != source->end() && checked < kMaxBusyChecks; ++it, ++checked) {
    if (!busy_(it->second)) {
      return it;
    }
  }
  return source->end();
}

bool PreAuthPool::Unlink(uint64_t ticket, PoolEntry* out) {
  auto s = source_of_.find(ticket);
  if (s == source_of_.end()) {
    return false;
  }
  auto src = sources_.find(s->second);
  auto it = src->second.find(ticket);
  if (out != nullptr) {
    *out = std::move(it->second);
  }
  src->second.erase(it);
  if (src->second.empty()) {
    sources_.erase(src);
  }
  source_of_.erase(s);
  return true;
}

bool PreAuthPool::TotalVictim(uint64_t* ticket) {
  // The source holding the most pays, so many addresses together cannot push
  // out a source that holds few; one whose oldest are all busy is passed
  // over for the next heaviest.
  std::vector<std::pair<size_t, const std::string*>> by_size;
  by_size.reserve(sources_.size());
  for (auto& [source_ip, entries] : sources_) {
    by_size.emplace_back(entries.size(), &source_ip);
  }
  std::sort(by_size.begin(), by_size.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  int checked = 0;
  for (const auto& [size, source_ip] : by_size) {
    if (checked >= kMaxTotalChecks) {
      break;
    }
    checked += static_cast<int>(std::min<size_t>(size, kMaxBusyChecks));
    Source& entries = sources_[*source_ip];
    auto victim = OldestIdle(&entries);
    if (victim != entries.end()) {
      *ticket = victim->first;
      return true;
    }
  }
  return false;
}

PoolDecision PreAuthPool::Join(const std::string& ip, int loop,
                               uint64_t conn_id, int fd) {
  PoolDecision d;
  auto own = sources_.find(ip);
  const size_t own_count = own == sources_.end() ? 0 : own->second.size();
  if (own_count >= max_per_source_) {
    // The source is at its own cap: it can only displace itself, so a
    // flooder behind one address never costs another address anything, and
    // a registered client behind the same NAT address still gets in (the
    // stalled connections are the oldest). A connection whose input is still
    // unread waits on the server, not the server on it: it is not evicted.
    // When the oldest all wait on the server, the source is not stalling but
    // arriving in a burst (a fleet reconnecting behind one address): the
    // newcomer is admitted over the source's cap, within the total, rather
    // than refused into a backoff.
    auto it = OldestIdle(&own->second);
    if (it != own->second.end()) {
      d.rule = "per-source";
      Unlink(it->first, &d.victim);
      --total_;
      d.evicted = true;
    }
  }
  if (!d.evicted && total_ >= max_total_) {
    d.rule = "total";
    uint64_t victim = 0;
    if (!TotalVictim(&victim)) {
      d.busy = !sources_.empty();  // else every one is proven
      return d;
    }
    Unlink(victim, &d.victim);
    --total_;
    d.evicted = true;
  }
  d.admitted = true;
  d.ticket = next_ticket_++;
  PoolEntry e;
  e.loop = loop;
  e.conn_id = conn_id;
  e.ip = ip;
  e.fd = fd;
  sources_[ip].emplace(d.ticket, std::move(e));
  source_of_.emplace(d.ticket, ip);
  ++total_;
  return d;
}

bool PreAuthPool::Leave(uint64_t ticket) {
  if (proven_.erase(ticket) == 0 && !Unlink(ticket, nullptr)) {
    return false;
  }
  --total_;
  return true;
}

void PreAuthPool::Protect(uint64_t ticket) {
  // Not found: evicted already, or proven before.
  if (Unlink(ticket, nullptr)) {
    proven_.insert(ticket);
  }
}

}  // namespace trustlink::ntl::server::internal_engine
