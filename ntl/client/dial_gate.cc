#include "ntl/client/dial_gate.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace trustlink::ntl::client {

DialGate::DialGate(int per_address) : per_address_(std::max(1, per_address)) {}

bool DialGate::Enter(const std::string& key, DialTicket* ticket) {
  if (ticket->state == DialTicket::State::kHolding) {
    return true;
  }
  if (ticket->state == DialTicket::State::kQueued) {
    if (ticket->key == key) {
      return false;
    }
    Leave(ticket);  // the server's address changed while it waited
  }
  Address& a = addresses_[key];
  ticket->key = key;
  // A newcomer never overtakes the queue, even when a slot is free: slots
  // freed while links waited were handed to them already.
  if (a.in_flight < per_address_ && a.queue.empty()) {
    ++a.in_flight;
    ticket->state = DialTicket::State::kHolding;
    return true;
  }
  ticket->place = a.queue.insert(a.queue.end(), ticket);
  ticket->state = DialTicket::State::kQueued;
  return false;
}

void DialGate::Leave(DialTicket* ticket) {
  const DialTicket::State was = ticket->state;
  ticket->state = DialTicket::State::kOut;
  if (was == DialTicket::State::kOut) {
    return;
  }
  auto it = addresses_.find(ticket->key);
  if (it == addresses_.end()) {
    return;
  }
  Address& a = it->second;
  if (was == DialTicket::State::kQueued) {
    a.queue.erase(ticket->place);
  } else if (!a.queue.empty()) {
    // The slot passes to the first waiter: the count stays.
    DialTicket* next = a.queue.front();
    a.queue.pop_front();
    next->state = DialTicket::State::kHolding;
  } else {
    --a.in_flight;
  }
  if (a.in_flight == 0 && a.queue.empty()) {
    addresses_.erase(it);
  }
}

int DialGate::in_flight(const std::string& key) const {
  auto it = addresses_.find(key);
  return it == addresses_.end() ? 0 : it->second.in_flight;
}

size_t DialGate::queued(const std::string& key) const {
  auto it = addresses_.find(key);
  return it == addresses_.end() ? 0 : it->second.queue.size();
}

std::string DialKey(const std::string& host, int port) {
  return absl::StrCat(absl::AsciiStrToLower(host), ":", port);
}

}  // namespace trustlink::ntl::client
