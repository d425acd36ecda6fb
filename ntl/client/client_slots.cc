// Client's slots: numbering the partitions the servers list (kept across
// processes by slot_numbers.h), listing them, and finding the link and
// partition behind a slot number for a call or a stream.

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "ntl/client/client.h"
#include "ntl/client/slot_numbers.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {

const char* SlotStateName(SlotState state) {
  switch (state) {
    case SlotState::kReady:
      return "ready";
    case SlotState::kServerDown:
      return "server-down";
    case SlotState::kRemoved:
      return "removed";
  }
  return "unknown";
}

void Client::AssignSlotsLocked(const std::vector<size_t>& servers) {
  if (servers.empty()) {
    return;
  }
  std::vector<bool> in_batch(conns_.size(), false);
  for (size_t server : servers) {
    in_batch[server] = true;
  }
  std::vector<size_t> listed_before(conns_.size(), 0);
  for (const auto& [id, e] : slots_) {
    if (in_batch[e.server] && e.listed) {
      ++listed_before[e.server];
    }
  }
  if (ListsWhatWasNumberedLocked(servers, listed_before)) {
    // Links back with the very partitions they listed before (a reconnect
    // storm): slots.conf holds these numbers and would not change, and
    // reading it whole on every loop pass made N links coming back cost
    // O(N^2).
    for (size_t server : servers) {
      for (const wire::SlotInfo& info : conns_[server]->slots()) {
        slots_[slot_index_.at({server, info.partition})].info = info;
      }
    }
    return;
  }
  for (auto& [id, e] : slots_) {
    if (in_batch[e.server]) {
      e.listed = false;
    }
  }
  std::vector<ServerPartitions> listed;
  std::set<int> taken;
  std::set<std::pair<size_t, std::string>> listed_now;
  for (size_t server : servers) {
    std::vector<std::string> partitions;
    for (const wire::SlotInfo& info : conns_[server]->slots()) {
      partitions.push_back(info.partition);
      listed_now.emplace(server, info.partition);
    }
    listed.emplace_back(conns_[server]->server().name, std::move(partitions));
  }
  // Every number this process shows is taken, except those of the partitions
  // being numbered now: a revoked partition keeps showing as removed at its
  // number, so the file must not hand that number to another partition (this
  // process would put that partition elsewhere and the two would disagree).
  for (const auto& [key, id] : slot_index_) {
    if (listed_now.count(key) == 0) taken.insert(id);
  }
  if (ha_ != nullptr) {
    for (size_t g = 0; g < ha_->size(); ++g) {
      if (ha_->slot(g) >= 0) taken.insert(ha_->slot(g));
    }
  }
  // The numbers other processes gave these partitions, so that a slot number
  // means the same partition in every process (slot_numbers.h). Without a
  // client root, numbers are given in memory: stable for this process only.
  absl::StatusOr<std::map<SlotKey, int>> stored =
      settings_.slot_numbers_dir.empty()
          ? absl::StatusOr<std::map<SlotKey, int>>(
                absl::UnavailableError("no client root"))
          : NumberServersSlots(settings_.slot_numbers_dir, listed, taken);
  // In-memory numbers are searched from where the last search ended: they
  // only grow within a batch.
  int next_free = 0;
  for (size_t b = 0; b < servers.size(); ++b) {
    const size_t server = servers[b];
    const std::string srv = absl::AsciiStrToLower(listed[b].first);
    for (const wire::SlotInfo& info : conns_[server]->slots()) {
      auto key = std::make_pair(server, info.partition);
      auto it = slot_index_.find(key);
      if (it != slot_index_.end()) {
        slots_[it->second].info = info;
        slots_[it->second].listed = true;
        continue;
      }
      auto s = stored.ok() ? stored->find({srv, info.partition})
                           : std::map<SlotKey, int>::const_iterator();
      int id = -1;
      if (stored.ok() && s != stored->end() && slots_.count(s->second) == 0 &&
          !IsHaSlotLocked(s->second)) {
        id = s->second;
      } else {
        while (slots_.count(next_free) != 0 || IsHaSlotLocked(next_free) ||
               (stored.ok() && taken.count(next_free) != 0)) {
          ++next_free;
        }
        id = next_free;
      }
      slot_index_.emplace(key, id);
      slots_.emplace(id, SlotEntry{server, info, true});
    }
  }
}

void Client::NumberWelcomedLocked() {
  if (to_number_.empty()) {
    return;
  }
  std::vector<size_t> servers;
  servers.swap(to_number_);
  std::sort(servers.begin(), servers.end());
  servers.erase(std::unique(servers.begin(), servers.end()), servers.end());
  AssignSlotsLocked(servers);
  if (initial_done_) {
    RefreshHaLocked(absl::Now());
  }
}

bool Client::ListsWhatWasNumberedLocked(
    const std::vector<size_t>& servers,
    const std::vector<size_t>& listed_before) const {
  for (size_t server : servers) {
    const std::vector<wire::SlotInfo>& now = conns_[server]->slots();
    if (now.empty() || now.size() != listed_before[server]) {
      // A partition revoked or new, or none listed (the file gives their
      // numbers up): slots.conf changes.
      return false;
    }
    for (const wire::SlotInfo& info : now) {
      auto it = slot_index_.find({server, info.partition});
      if (it == slot_index_.end() || !slots_.at(it->second).listed) {
        return false;
      }
    }
  }
  return true;
}

std::vector<Slot> Client::Slots() {
  internal::MutexLock lock(&mu_);
  std::vector<Slot> out;
  out.reserve(slots_.size());
  for (const auto& [id, e] : slots_) {
    if (ha_ != nullptr && ha_->ha_only() &&
        !HaMemberRefusalLocked(id, e).ok()) {
      continue;  // HAOnly: only the group's slot is shown
    }
    Slot s;
    s.id = id;
    s.server = conns_[e.server]->server().name;
    s.partition = e.info.partition;
    s.label = e.info.label;
    s.serial = e.info.serial;
    if (!e.listed) {
      s.state = SlotState::kRemoved;
    } else if (conns_[e.server]->state() == LinkState::kReady) {
      s.state = SlotState::kReady;
    } else {
      s.state = SlotState::kServerDown;
    }
    out.push_back(std::move(s));
  }
  AppendHaSlotsLocked(&out);
  return out;
}

absl::StatusOr<Connection*> Client::ConnectionForSlotLocked(
    int slot, std::string* partition) {
  auto found = slots_.find(slot);
  if (found == slots_.end() && IsHaSlotLocked(slot)) {
    return Error(
        absl::StatusCode::kUnimplemented, TL_E_UNIMPLEMENTED,
        absl::StrCat(
            "slot ", slot, " is HA group '",
            ha_->label(ha_->GroupForSlot(slot)),
            "', which takes calls only; open byte streams on a "
            "member's slot (PKCS#11 goes through the group's bridge)"));
  }
  if (found == slots_.end()) {
    return Error(
        absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
        absl::StrCat("slot ", slot, " does not exist (this client has ",
                     slots_.size(),
                     " slots); take a slot id from tl_client_slots"));
  }
  const SlotEntry& e = found->second;
  if (absl::Status refused = HaMemberRefusalLocked(slot, e); !refused.ok()) {
    return refused;
  }
  if (!e.listed) {
    return Error(
        absl::StatusCode::kPermissionDenied, TL_E_PARTITION_NOT_ASSIGNED,
        absl::StrCat("partition '", e.info.partition, "' (slot ", slot,
                     ") is no longer assigned to this client on server '",
                     conns_[e.server]->server().name, "'"));
  }
  *partition = e.info.partition;
  return conns_[e.server].get();
}

}  // namespace trustlink::ntl::client
