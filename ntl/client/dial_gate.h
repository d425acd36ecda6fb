// DialGate: at most K connection attempts in flight per server address, the
// rest queued in order (docs/client.md, "Opening many links").
//
// Why: an appliance counts the connections of one source address that are not
// yet admitted (the pre-authentication pool, docs/server.md) and evicts the
// oldest beyond its per-source cap (64 by default). A client that opens N links
// to one appliance at once (a PKCS#11 stack with many sessions, the peer
// harness's 1,000 links, a fleet's links coming back after a restart) used to
// start all N attempts together; its one I/O thread then finished each
// handshake long after the appliance had answered it, so the appliance evicted
// them as stalled, and each evicted link waited out its reconnect backoff: a
// ramp-up of 1,000 links saw about 1,500 evictions and took 14-18 s. Waiting
// here for an earlier attempt to finish costs nothing the appliance would not
// have made it wait anyway, and it is not a failure: the backoff is left for
// real ones.

#ifndef TRUSTLINK_NTL_CLIENT_DIAL_GATE_H_
#define TRUSTLINK_NTL_CLIENT_DIAL_GATE_H_

#include <cstddef>
#include <list>
#include <string>

#include "absl/container/flat_hash_map.h"

namespace trustlink::ntl::client {

// kDefaultDialsPerAddress is K: half the appliance's default per-source cap of
// connections not yet admitted (64), so a second process on the same host (an
// HTL agent, vtl, another application) still fits beside one that is opening
// many links. More would not be faster: one appliance loop finishes a
// handshake in about a millisecond and the client's one I/O thread does each
// link's handshake in turn, so a few attempts in flight already keep both
// busy (docs/benchmarks.md has the figures for 8, 16, 32 and 64).
inline constexpr int kDefaultDialsPerAddress = 32;

// DialTicket is one link's place at the gate. The link owns it; the gate only
// points at it while the link is queued.
struct DialTicket {
  enum class State { kOut, kQueued, kHolding };
  State state = State::kOut;
  std::string key;  // the address it waits for or holds a slot of
  std::list<DialTicket*>::iterator place;  // in the queue, when kQueued
};

// DialGate counts the attempts in flight per address key and queues the rest
// in FIFO order. A slot freed while links wait is handed to the first of them
// (its ticket becomes kHolding), so a flood of new attempts cannot overtake
// the queue.
//
// Thread safety: none; the owning Client calls it with its mutex held.
class DialGate {
 public:
  // `per_address` below 1 means 1.
  explicit DialGate(int per_address);
  DialGate(const DialGate&) = delete;
  DialGate& operator=(const DialGate&) = delete;

  // Enter asks for a slot of `key` for `ticket` (kOut, or kQueued for the
  // same key: it keeps its place). Returns true when the ticket holds one,
  // now or since a slot was handed to it; false while it waits.
  bool Enter(const std::string& key, DialTicket* ticket);
  // Leave gives up the ticket's slot or its place in the queue; a freed slot
  // goes to the first ticket waiting for that key. Does nothing for kOut.
  void Leave(DialTicket* ticket);

  // in_flight and queued are the counts for `key`, for tests and status.
  int in_flight(const std::string& key) const;
  size_t queued(const std::string& key) const;
  int per_address() const { return per_address_; }

 private:
  struct Address {
    int in_flight = 0;
    std::list<DialTicket*> queue;
  };
  const int per_address_;
  absl::flat_hash_map<std::string, Address> addresses_;
};

// DialKey names a server address for the gate: the host as configured (names
// compared without regard to case) and the port. Two names for one address
// are paced separately.
std::string DialKey(const std::string& host, int port);

}  // namespace trustlink::ntl::client

#endif  // TRUSTLINK_NTL_CLIENT_DIAL_GATE_H_
