// Bringing failed members back: a retry with backoff (AutoReconnectInterval,
// doubling up to 8 times it; given up after reconnAtt failures), then the
// catch-up (ha_catch_up.cc) before the member takes load. The retries run in
// the group's probe thread, so no application call waits for a member's
// bridge to start (up to the connect timeout for an appliance that does not
// answer), nor for the key-transfer streams its catch-up needs
// (ha_transfers.cc); only without that thread do they run at the start of a
// call.

#include <pthread.h>

#include <algorithm>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "ntl/pkcs11/ha/ha_module.h"

namespace trustlink::ntl::pkcs11::ha {

void HaModule::RetryDone(size_t m, bool ok, const std::string& why) {
  Member& mem = *members_[m];
  if (ok) {
    if (mem.backoff != absl::ZeroDuration()) {
      Log(absl::StrCat("member ", mem.name(), " is back"));
    }
    mem.backoff = absl::ZeroDuration();
    mem.failed_retries = 0;
    return;
  }
  // Up but not caught up, or connected and withdrawn while its key-transfer
  // streams opened: it must not take load, and its bridge goes.
  mem.Stop();
  if (mem.backoff != absl::ZeroDuration()) {
    ++mem.failed_retries;  // a retry after a loss, not the first start
  }
  int limit = options_.reconnect_attempts;
  if (limit >= 0 && mem.failed_retries >= std::max(1, limit)) {
    mem.given_up = true;
    Log(absl::StrCat("member ", mem.name(), " is down: ", why,
                     "; given up after ", mem.failed_retries,
                     " failed retries (reconnAtt) until the application "
                     "initialises the module again"));
    return;
  }
  mem.backoff = mem.backoff == absl::ZeroDuration()
                    ? options_.retry_interval
                    : std::min(mem.backoff * 2, options_.retry_interval * 8);
  mem.next_try = absl::Now() + mem.backoff;
  Log(absl::StrCat("member ", mem.name(), " is down: ", why, "; next try in ",
                   absl::FormatDuration(mem.backoff)));
}

void HaModule::Recover() {
  if (probe_.joinable()) {
    return;  // the probe thread does it
  }
  absl::Time now = absl::Now();
  for (size_t i = 0; i < members_.size(); ++i) {
    Member& mem = *members_[i];
    if (mem.up() || mem.given_up || now < mem.next_try) {
      continue;
    }
    std::string why;
    bool ok = mem.Start(&why) && CatchUp(i, &why) == CatchUpResult::kDone;
    RetryDone(i, ok, why);
  }
}

void HaModule::StartProbe() {
  probe_stop_ = false;
  try {
    probe_ = std::thread([this] { ProbeLoop(); });
    // Named here, so it has its name (in top, gdb, /proc) once Initialize
    // returns.
    pthread_setname_np(probe_.native_handle(), "tl-ha-probe");
  } catch (const std::system_error& e) {
    Log(absl::StrCat("no probe thread (", e.what(),
                     "); failed members are retried at the start of a call"));
  }
}

void HaModule::StopProbe(std::unique_lock<std::mutex>* held) {
  if (!probe_.joinable()) {
    return;
  }
  if (held != nullptr) {
    probe_stop_ = true;
    held->unlock();
  } else {
    std::lock_guard<std::mutex> lock(*call_lock_);
    probe_stop_ = true;
  }
  probe_wake_.notify_all();
  probe_.join();
  if (held != nullptr) {
    held->lock();
  }
}

void HaModule::ProbeLoop() {
  std::unique_lock<std::mutex> lock(*call_lock_);
  while (!probe_stop_) {
    int pick = -1;
    absl::Time due = absl::InfiniteFuture();
    for (size_t i = 0; i < members_.size(); ++i) {
      const Member& mem = *members_[i];
      if (!mem.up() && !mem.given_up && mem.next_try < due) {
        due = mem.next_try;
        pick = static_cast<int>(i);
      }
    }
    if (pick < 0) {
      probe_wake_.wait(lock);  // MarkDown or StopProbe wakes it
      continue;
    }
    absl::Time now = absl::Now();
    if (now < due) {
      probe_wake_.wait_for(lock, absl::ToChronoNanoseconds(due - now));
      continue;
    }
    // Without the lock while the member's bridge starts: calls skip a member
    // that is down, MarkDown leaves it alone, and Finalize joins this thread
    // before it stops the members, so nothing else touches its module.
    Member& mem = *members_[pick];
    std::string why;
    lock.unlock();
    bool connected = mem.Connect(&why);
    lock.lock();
    // When stopping, Finalize or the destructor stops the member.
    bool ok = !probe_stop_ && connected && Readmit(pick, &lock, &why);
    if (probe_stop_) {
      break;
    }
    RetryDone(pick, ok, why);
  }
}

bool HaModule::Readmit(size_t m, std::unique_lock<std::mutex>* lock,
                       std::string* why) {
  Member& mem = *members_[m];
  // The streams opened for a round can be gone when the next looks (failed,
  // or dropped by a logout and a new login meanwhile); after a few rounds the
  // retry fails rather than loop.
  constexpr int kRounds = 3;
  for (int round = 1;; ++round) {
    mem.MarkUp();
    std::vector<size_t> need;
    CatchUpResult r = CatchUp(m, why, &need);
    if (r != CatchUpResult::kNeedsTransfers) {
      return r == CatchUpResult::kDone;
    }
    // Out of service while the lock is let go: calls must not use a member
    // that lacks objects.
    mem.Withdraw();
    if (round == kRounds) {
      *why = absl::StrCat("the key-transfer streams its catch-up needs closed ",
                          kRounds, " times before it could use them");
      return false;
    }
    if (!OpenTransfers(need, lock, why) || probe_stop_) {
      return false;
    }
  }
}

}  // namespace trustlink::ntl::pkcs11::ha
