#include "ntl/server/preauth_pool.h"

#include <utility>

namespace trustlink::ntl::server::internal_engine {

std::map<uint64_t, PoolEntry>::iterator PreAuthPool::OldestEvictable(
    std::map<uint64_t, PoolEntry>* source) {
  for (auto it = source->begin(); it != source->end(); ++it) {
    if (!it->second.protected_) {
      return it;
    }
  }
  return source->end();
}

PoolEntry PreAuthPool::Evict(const std::string& ip,
                             std::map<uint64_t, PoolEntry>::iterator it) {
  auto src = sources_.find(ip);
  PoolEntry victim = std::move(it->second);
  source_of_.erase(it->first);
  src->second.erase(it);
  if (src->second.empty()) {
    sources_.erase(src);
  }
  --total_;
  return victim;
}

PoolDecision PreAuthPool::Join(const std::string& ip, int loop,
                               uint64_t conn_id) {
  PoolDecision d;
  auto own = sources_.find(ip);
  const size_t own_count = own == sources_.end() ? 0 : own->second.size();
  if (own_count >= max_per_source_) {
    // The source is at its own cap: it can only displace itself, so a
    // flooder behind one address never costs another address anything, and
    // a registered client behind the same NAT address still gets in (the
    // stalled connections are the oldest).
    d.rule = "per-source";
    auto it = OldestEvictable(&own->second);
    if (it == own->second.end()) {
      return d;
    }
    d.victim = Evict(ip, it);
    d.evicted = true;
  } else if (total_ >= max_total_) {
    // The total is full: the source holding the most pays, so many addresses
    // together cannot push out a source that holds few.
    d.rule = "total";
    std::map<uint64_t, PoolEntry>* heaviest = nullptr;
    const std::string* heaviest_ip = nullptr;
    for (auto& [source_ip, entries] : sources_) {
      if ((heaviest == nullptr || entries.size() > heaviest->size()) &&
          OldestEvictable(&entries) != entries.end()) {
        heaviest = &entries;
        heaviest_ip = &source_ip;
      }
    }
    if (heaviest == nullptr) {
      return d;
    }
    const std::string victim_ip = *heaviest_ip;
    d.victim = Evict(victim_ip, OldestEvictable(heaviest));
    d.evicted = true;
  }
  d.admitted = true;
  d.ticket = next_ticket_++;
  PoolEntry e;
  e.loop = loop;
  e.conn_id = conn_id;
  e.ip = ip;
  sources_[ip].emplace(d.ticket, std::move(e));
  source_of_.emplace(d.ticket, ip);
  ++total_;
  return d;
}

bool PreAuthPool::Leave(uint64_t ticket) {
  auto s = source_of_.find(ticket);
  if (s == source_of_.end()) {
    return false;
  }
  auto src = sources_.find(s->second);
  src->second.erase(ticket);
  if (src->second.empty()) {
    sources_.erase(src);
  }
  source_of_.erase(s);
  --total_;
  return true;
}

void PreAuthPool::Protect(uint64_t ticket) {
  auto s = source_of_.find(ticket);
  if (s == source_of_.end()) {
    return;
  }
  sources_[s->second][ticket].protected_ = true;
}

}  // namespace trustlink::ntl::server::internal_engine
