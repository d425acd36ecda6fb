// Connection's calls: starting one (ids, tokens, deadlines, who reads the
// answer), failing one, and cancelling one. The entry points the Client
// uses on a caller's behalf, apart from the loop's own work.

#include <utility>

#include "absl/strings/str_cat.h"
#include "ntl/client/connection.h"
#include "ntl/client/fresh_status.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {

absl::Status Connection::StartCall(absl::string_view partition, uint32_t op,
                                   absl::string_view data, absl::Time deadline,
                                   CallCallback cb, uint32_t* id,
                                   uint64_t* token, Completions* done,
                                   ReaderWait* reader) {
  Pending p;
  p.deadline = deadline;
  p.cb = std::move(cb);
  return StartPending(partition, op, data, std::move(p), id, token, done,
                      reader);
}

absl::Status Connection::StartRawCall(absl::string_view partition, uint32_t op,
                                      absl::string_view data,
                                      absl::Time deadline,
                                      const RawCallCallback& cb,
                                      stats::ClientStats* stats,
                                      Completions* done) {
  Pending p;
  p.deadline = deadline;
  p.raw = cb;
  p.stats = stats;
  uint32_t id;
  uint64_t token;
  return StartPending(partition, op, data, std::move(p), &id, &token, done,
                      /*reader=*/nullptr);
}

absl::Status Connection::StartPending(absl::string_view partition, uint32_t op,
                                      absl::string_view data, Pending p,
                                      uint32_t* id, uint64_t* token,
                                      Completions* done, ReaderWait* reader) {
  if (state_ != LinkState::kReady) {
    return Error(absl::StatusCode::kUnavailable, TL_E_UNAVAILABLE,
                 absl::StrCat("server '", server_.name, "' is not connected (",
                              LinkStateName(state_),
                              "; last error: ", last_error_.message(), ")"));
  }
  if (data.size() + partition.size() + 16 > settings_.max_payload) {
    return Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                 absl::StrCat("call data of ", data.size(),
                              " bytes exceeds the frame limit of ",
                              settings_.max_payload));
  }
  while (next_id_ == 0 || pending_.count(next_id_) != 0) {
    ++next_id_;
  }
  // A caller reading its own answer gives the socket back: this call's answer
  // is for the loop. A parked socket stays out until it is clear whether this
  // call's caller takes it (below).
  if (reader_active_) {
    HandBackReading();
  }
  const uint32_t call_id = next_id_++;
  const uint64_t call_token = next_token_++;
  p.token = call_token;
  if (p.stats != nullptr) {
    // Started only once it is sure to complete (a refused call never was).
    p.start = p.stats->CallStart();
  }
  if (p.deadline != absl::InfiniteFuture()) {
    deadlines_.Add(p.deadline, call_id, call_token);
  }
  pending_.emplace(call_id, std::move(p));
  *id = call_id;
  *token = call_token;
  if (reader == nullptr || !TakeReading(call_id, call_token, reader)) {
    Unpark();
  }
  SendCall(call_id, partition, op, data, done);
  return absl::OkStatus();
}

void Connection::FailCall(Pending* p, const absl::Status& why,
                          Completions* done) {
  if (p->raw.fn != nullptr) {
    done->AddRawCall(p->raw, ToTlStatus(why), why.message(), p->stats,
                     p->start);
    return;
  }
  done->push_back([cb = std::move(p->cb), why]() { cb(FreshStatus(why)); });
}

void Connection::ForgetDeadline(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) {
    return;
  }
  deadlines_.Forget();
  if (deadlines_.NeedsCompaction()) {
    deadlines_.Compact([this](const DeadlineQueue::Entry& e) {
      auto it = pending_.find(e.id);
      return it != pending_.end() && it->second.token == e.token;
    });
  }
}

bool Connection::CancelCall(uint32_t id, uint64_t token) {
  auto it = pending_.find(id);
  if (it == pending_.end() || it->second.token != token) {
    return false;
  }
  const absl::Time deadline = it->second.deadline;
  pending_.erase(it);
  ForgetDeadline(deadline);
  return true;
}

}  // namespace trustlink::ntl::client
