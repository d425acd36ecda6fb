// Client's call entry points: the asynchronous, raw (C ABI) and blocking
// calls, and the blocking caller reading its own answer
// (connection_caller_read.cc has the rules). HA group slots are handed to
// client_ha.cc.

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ntl/client/client.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {

absl::Status Client::StartCallLocked(
    int slot, uint32_t op, absl::string_view data, absl::Time deadline,
    CallCallback cb, size_t* server, uint32_t* id, uint64_t* token,
    std::shared_ptr<HaCall>* ha_call, Completions* done, ReaderWait* reader) {
  cb = stats_.Wrap(std::move(cb));
  if (ha_ != nullptr && ha_->GroupForSlot(slot) >= 0) {
    absl::Status st =
        StartHaCallLocked(static_cast<size_t>(ha_->GroupForSlot(slot)), op,
                          data, deadline, std::move(cb), ha_call, done);
    if ((st.ok() && deadline < timer_armed_for_) || !done->empty()) {
      RearmTimerLocked();
    }
    return st;
  }
  std::string partition;
  absl::StatusOr<Connection*> conn = ConnectionForSlotLocked(slot, &partition);
  if (!conn.ok()) {
    return conn.status();
  }
  *server = slots_.at(slot).server;
  absl::Status st = (*conn)->StartCall(partition, op, data, deadline,
                                       std::move(cb), id, token, done, reader);
  if ((st.ok() && deadline < timer_armed_for_) || !done->empty()) {
    RearmTimerLocked();
  }
  return st;
}

absl::Status Client::CallAsync(int slot, uint32_t op, absl::string_view data,
                               absl::Time deadline, CallCallback cb) {
  Completions done;
  absl::Status st;
  {
    internal::MutexLock lock(&mu_);
    size_t server;
    uint32_t id;
    uint64_t token;
    std::shared_ptr<HaCall> ha_call;
    st = StartCallLocked(slot, op, data, deadline, std::move(cb), &server, &id,
                         &token, &ha_call, &done);
  }
  done.RunAll();
  return st;
}

absl::Status Client::CallAsyncRaw(int slot, uint32_t op, absl::string_view data,
                                  absl::Time deadline,
                                  const RawCallCallback& cb) {
  Completions done;
  absl::Status st;
  bool group_slot = false;
  {
    // One lock per call: the group check and the call share it.
    internal::MutexLock lock(&mu_);
    group_slot = IsHaSlotLocked(slot);
    if (!group_slot) {
      std::string partition;
      absl::StatusOr<Connection*> conn =
          ConnectionForSlotLocked(slot, &partition);
      st = conn.status();
      if (st.ok()) {
        st = (*conn)->StartRawCall(partition, op, data, deadline, cb, &stats_,
                                   &done);
        if ((st.ok() && deadline < timer_armed_for_) || !done.empty()) {
          RearmTimerLocked();
        }
      }
    }
  }
  if (group_slot) {
    // A group's call keeps its closure: the HA call retries it member by
    // member (client_ha.cc), which the raw path's one pending entry cannot.
    return CallAsync(
        slot, op, data, deadline, [cb](absl::StatusOr<std::string> r) {
          if (r.ok()) {
            cb.fn(cb.arg, TL_OK, reinterpret_cast<const uint8_t*>(r->data()),
                  r->size());
          } else {
            cb.fn(cb.arg, ToTlStatus(r.status()),
                  reinterpret_cast<const uint8_t*>(r.status().message().data()),
                  r.status().message().size());
          }
        });
  }
  if (!st.ok()) {
    // Counted as a failed call, as a wrapped callback dropped unrun is.
    stats_.CallEnd(stats_.CallStart(), false);
  }
  done.RunAll();
  return st;
}

absl::StatusOr<std::string> Client::Call(int slot, uint32_t op,
                                         absl::string_view data,
                                         absl::Time deadline) {
  auto waiter = std::make_shared<Waiter>();
  size_t server = 0;
  uint32_t id = 0;
  uint64_t token = 0;
  std::shared_ptr<HaCall> ha_call;
  Completions done;
  ReaderWait wait;
  {
    internal::MutexLock lock(&mu_);
    absl::Status st = StartCallLocked(
        slot, op, data, deadline,
        [waiter](absl::StatusOr<std::string> r) {
          internal::MutexLock l(&waiter->mu);
          waiter->result = std::move(r);
          waiter->done = true;
          waiter->cv.SignalAll();
        },
        &server, &id, &token, &ha_call, &done,
        // Alone on an idle link, this thread reads its own answer instead of
        // having the I/O thread read it and wake it. Without an I/O thread it
        // drives the whole loop below anyway.
        settings_.use_io_thread ? &wait : nullptr);
    if (!st.ok()) {
      return st;
    }
  }
  done.RunAll();
  if (wait.socket >= 0) {
    ReadOwnAnswer(server, id, token, wait, deadline);
  }
  waiter->mu.Lock();
  for (;;) {
    if (settings_.use_io_thread) {
      waiter->cv.WaitUntil(&waiter->mu, deadline, [&]() {
        waiter->mu.AssertHeld();
        return waiter->done;
      });
    }
    if (waiter->done) {
      absl::StatusOr<std::string> result = std::move(waiter->result);
      waiter->mu.Unlock();
      return result;
    }
    if (absl::Now() >= deadline) {
      break;
    }
    if (!settings_.use_io_thread) {
      // Without an I/O thread this caller drives the loop, unless another
      // thread is already doing so; then it sleeps briefly on its own result.
      waiter->mu.Unlock();
      bool processed = false;
      if (process_mu_.TryLock()) {
        ProcessLocked(std::min(deadline - absl::Now(), absl::Milliseconds(50)));
        process_mu_.Unlock();
        processed = true;
      }
      waiter->mu.Lock();
      if (!processed && !waiter->done) {
        waiter->cv.WaitWithDeadline(
            &waiter->mu,
            std::min(deadline, absl::Now() + absl::Milliseconds(5)));
      }
    }
  }
  waiter->mu.Unlock();
  {
    internal::MutexLock lock(&mu_);
    if (ha_call != nullptr) {
      CancelHaCallLocked(ha_call.get());
    } else {
      conns_[server]->CancelCall(id, token);
    }
  }
  return Error(absl::StatusCode::kDeadlineExceeded, TL_E_DEADLINE_EXCEEDED,
               absl::StrCat("call on slot ", slot,
                            " got no response before its deadline"));
}

void Client::ReadOwnAnswer(size_t server, uint32_t id, uint64_t token,
                           ReaderWait wait, absl::Time deadline) {
  pollfd fds[2] = {{wait.socket, POLLIN, 0}, {wait.kick, POLLIN, 0}};
  for (;;) {
    // No timeout: the call's deadline is in the loop's timer already, and the
    // loop expiring it takes the role back and kicks this wait. A timed sleep
    // arms a kernel timer per round trip, and in a VM reprogramming the timer
    // device can cost an exit to the hypervisor.
    // With busy-poll on (and the link's answers recently quick), first poll
    // without blocking: a zero timeout arms no timer either.
    static constexpr timespec kNoWait = {0, 0};
    int n = 0;
    wait.spin->Wait(
        [&]() {
          n = ppoll(fds, 2, &kNoWait, nullptr);
          return n != 0;
        },
        [&]() { n = ppoll(fds, 2, nullptr, nullptr); });
    const bool poll_failed = n < 0 && errno != EINTR;
    const bool readable = n > 0 && fds[0].revents != 0;
    Completions done;
    bool still_reading;
    {
      internal::MutexLock lock(&mu_);
      const absl::Time now = absl::Now();
      Connection* conn = conns_[server].get();
      still_reading = conn->ReadForCaller(id, token, readable, now, &done);
      NumberWelcomedLocked();  // a slots-changed frame read here
      if (still_reading && (now >= deadline || poll_failed)) {
        // The wait below reports the deadline and cancels the call.
        conn->GiveBackReading(token);
        still_reading = false;
      }
      // A failed link is due for a reconnect, on the loop's timer.
      RearmTimerLocked();
    }
    done.RunAll();
    if (!still_reading) {
      return;
    }
  }
}

}  // namespace trustlink::ntl::client
