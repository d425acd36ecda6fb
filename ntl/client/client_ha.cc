// Client's HA group hooks (docs/ha.md): the virtual slots, calls spread over
// the members with the retry rules of ha_retry.h, and member state from the
// links and the servers' partition lists (ha_group.h).
#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ntl/client/client.h"
#include "ntl/client/fresh_status.h"
#include "ntl/client/ha_retry.h"
#include "ntl/client/slot_numbers.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {
namespace {

// The server name the virtual slots are kept under in slots.conf. Server
// names are host names or IP literals, which never contain '@'.
constexpr absl::string_view kHaSlotServer = "@ha";

}  // namespace

struct Client::HaCall {
  size_t group = 0;
  uint32_t op = 0;
  std::string data;
  absl::Time deadline;
  CallCallback cb;
  // Members this call failed on; it is not sent to them again.
  std::set<size_t> tried;
  // The attempt in flight, for CancelHaCallLocked.
  int member = -1;
  size_t server = 0;
  uint32_t id = 0;
  uint64_t token = 0;
  bool finished = false;  // cb was taken (outcome delivered or cancelled)
};

std::vector<HaGroupStatus> Client::HaStatus() {
  internal::MutexLock lock(&mu_);
  if (ha_ == nullptr) {
    return {};
  }
  std::vector<std::string> names;
  for (const auto& c : conns_) {
    names.push_back(c->server().name);
  }
  return ha_->Status(names);
}

bool Client::IsHaSlotLocked(int slot) {
  return ha_ != nullptr && ha_->GroupForSlot(slot) >= 0;
}

absl::Status Client::HaMemberRefusalLocked(int slot, const SlotEntry& e) {
  if (ha_ == nullptr || !ha_->ha_only()) {
    return absl::OkStatus();
  }
  const int g = ha_->GroupOfMember(conns_[e.server]->server().name,
                                   e.info.partition, e.info.serial);
  if (g < 0) {
    return absl::OkStatus();
  }
  return Error(
      absl::StatusCode::kFailedPrecondition, TL_E_FAILED_PRECONDITION,
      absl::StrCat("slot ", slot, " (partition '", e.info.partition,
                   "' on server '", conns_[e.server]->server().name,
                   "') is a member of HA group '", ha_->label(g),
                   "' and HAOnly is on, so member slots are hidden; call the "
                   "group's slot ",
                   ha_->slot(g), " instead"));
}

void Client::AppendHaSlotsLocked(std::vector<Slot>* out) {
  if (ha_ == nullptr) {
    return;
  }
  std::vector<std::string> names;
  for (const auto& c : conns_) {
    names.push_back(c->server().name);
  }
  for (const HaGroupStatus& g : ha_->Status(names)) {
    if (g.slot < 0) {
      continue;
    }
    Slot s;
    s.id = g.slot;
    s.label = g.label;
    s.serial = g.serial;
    s.ha_group = g.label;
    s.state = g.state == HaGroupState::kUp ? SlotState::kReady
                                           : SlotState::kServerDown;
    out->push_back(std::move(s));
  }
  std::sort(out->begin(), out->end(),
            [](const Slot& a, const Slot& b) { return a.id < b.id; });
}

void Client::NumberHaSlotsLocked() {
  if (ha_ == nullptr) {
    return;
  }
  std::set<int> taken;
  for (const auto& [id, e] : slots_) {
    taken.insert(id);
  }
  std::vector<std::string> labels;
  for (size_t g = 0; g < ha_->size(); ++g) {
    labels.push_back(ha_->label(g));
  }
  // As for partitions: the number other processes gave the group, so a
  // group's slot is the same in every process and after restarts.
  absl::StatusOr<std::map<std::string, int>> stored =
      settings_.slot_numbers_dir.empty()
          ? absl::StatusOr<std::map<std::string, int>>(
                absl::UnavailableError("no client root"))
          : NumberSlots(settings_.slot_numbers_dir, std::string(kHaSlotServer),
                        labels, taken);
  for (size_t g = 0; g < ha_->size(); ++g) {
    int id = -1;
    if (stored.ok() && stored->count(labels[g]) != 0 &&
        taken.count(stored->at(labels[g])) == 0) {
      id = stored->at(labels[g]);
    } else {
      id = 0;
      while (taken.count(id) != 0 ||
             (stored.ok() &&
              std::any_of(stored->begin(), stored->end(),
                          [id](const auto& kv) { return kv.second == id; }))) {
        ++id;
      }
    }
    taken.insert(id);
    ha_->SetSlot(g, id);
  }
}

MemberView Client::HaLookupLocked(const HaMemberSettings& member) {
  MemberView v;
  for (const auto& [id, e] : slots_) {
    const std::string& server = conns_[e.server]->server().name;
    const bool match = member.serial.empty()
                           ? absl::EqualsIgnoreCase(server, member.server) &&
                                 e.info.partition == member.partition
                           : e.info.serial == member.serial;
    if (!match) {
      continue;
    }
    v.found = true;
    v.server = e.server;
    v.partition = e.info.partition;
    if (!e.listed) {
      v.why = Error(
          absl::StatusCode::kPermissionDenied, TL_E_PARTITION_NOT_ASSIGNED,
          absl::StrCat("server '", server, "' no longer lists partition '",
                       e.info.partition, "' for this client"));
    } else if (conns_[e.server]->state() != LinkState::kReady) {
      v.why = FreshStatus(conns_[e.server]->last_error());
    } else {
      v.ready = true;
    }
    return v;
  }
  // Not listed (yet): a server that is not connected says why itself.
  for (const auto& c : conns_) {
    if (member.serial.empty() &&
        absl::EqualsIgnoreCase(c->server().name, member.server) &&
        c->state() != LinkState::kReady) {
      v.why = FreshStatus(c->last_error());
      return v;
    }
  }
  v.why = Error(absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
                member.serial.empty()
                    ? absl::StrCat("server '", member.server,
                                   "' has not listed partition '",
                                   member.partition, "' for this client")
                    : absl::StrCat("no server has listed a partition with "
                                   "serial number ",
                                   member.serial, " for this client"));
  return v;
}

void Client::RefreshHaLocked(absl::Time now) {
  if (ha_ == nullptr) {
    return;
  }
  std::vector<LinkEvent> events;
  ha_->Refresh(
      [this](const HaMemberSettings& m) {
        mu_.AssertHeld();
        return HaLookupLocked(m);
      },
      now, &events);
  for (LinkEvent& e : events) {
    QueueLinkEventLocked(std::move(e));
  }
}

absl::Status Client::StartHaCallLocked(size_t group, uint32_t op,
                                       absl::string_view data,
                                       absl::Time deadline, CallCallback cb,
                                       std::shared_ptr<HaCall>* ha_call,
                                       Completions* done) {
  auto call = std::make_shared<HaCall>();
  call->group = group;
  call->op = op;
  call->data = std::string(data);
  call->deadline = deadline;
  call->cb = std::move(cb);
  absl::Status st = HaAttemptLocked(call, done);
  if (st.ok()) {
    *ha_call = std::move(call);
  }
  return st;
}

absl::Status Client::HaAttemptLocked(const std::shared_ptr<HaCall>& call,
                                     Completions* done) {
  const size_t g = call->group;
  for (;;) {
    const int picked = ha_->Pick(g, call->tried);
    if (picked < 0) {
      return ha_->NoMember(g);
    }
    const size_t m = static_cast<size_t>(picked);
    const size_t server = ha_->server(g, m);
    uint32_t id = 0;
    uint64_t token = 0;
    absl::Status st = conns_[server]->StartCall(
        ha_->partition(g, m), call->op, call->data, call->deadline,
        [this, call, m](absl::StatusOr<std::string> r) {
          OnHaAttemptDone(call, m, std::move(r));
        },
        &id, &token, done);
    if (st.ok()) {
      ha_->CallStarted(g, m);
      call->member = picked;
      call->server = server;
      call->id = id;
      call->token = token;
      return st;
    }
    if (ClassifyAttempt(st, call->op) != HaRetry::kRetry) {
      return st;  // the call itself is bad (too large): no member takes it
    }
    // Not sent: always tried on another member.
    ha_->NoteFailure(g, m, st);
    call->tried.insert(m);
  }
}

void Client::OnHaAttemptDone(const std::shared_ptr<HaCall>& call, size_t member,
                             absl::StatusOr<std::string> result) {
  CallCallback deliver;
  Completions done;
  {
    internal::MutexLock lock(&mu_);
    const size_t g = call->group;
    ha_->CallEnded(g, member);
    if (call->finished) {
      return;
    }
    const absl::Status st = result.status();
    bool sent_again = false;
    switch (ClassifyAttempt(st, call->op)) {
      case HaRetry::kDeliver:
        break;
      case HaRetry::kOutcomeUnknown:
        ha_->NoteFailure(g, member, st);
        result = OutcomeUnknown(ha_->label(g), call->op,
                                conns_[ha_->server(g, member)]->server().name,
                                ha_->partition(g, member), st);
        break;
      case HaRetry::kRetry: {
        ha_->NoteFailure(g, member, st);
        call->tried.insert(member);
        call->member = -1;
        // One deadline covers every attempt.
        if (absl::Now() >= call->deadline) {
          result =
              Error(absl::StatusCode::kDeadlineExceeded, TL_E_DEADLINE_EXCEEDED,
                    absl::StrCat("call on HA group '", ha_->label(g),
                                 "' ran out of time after member '",
                                 ha_->partition(g, member),
                                 "' failed: ", st.message()));
          break;
        }
        absl::Status again = HaAttemptLocked(call, &done);
        if (again.ok()) {
          sent_again = true;
          RearmTimerLocked();
        } else {
          result = again;
        }
        break;
      }
    }
    if (!sent_again) {
      call->finished = true;
      deliver = std::move(call->cb);
    }
  }
  done.RunAll();
  if (deliver) {
    deliver(std::move(result));
  }
}

void Client::CancelHaCallLocked(HaCall* call) {
  call->finished = true;
  if (call->member >= 0 &&
      conns_[call->server]->CancelCall(call->id, call->token)) {
    ha_->CallEnded(call->group, static_cast<size_t>(call->member));
  }
}

}  // namespace trustlink::ntl::client
