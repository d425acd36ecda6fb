// Connection's clock: what each state does when its time comes (retry,
// connect and handshake deadlines, call deadlines, heartbeats, unparking)
// and when it next needs waking. One file so every deadline the state
// machine keeps is read in one place.

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "ntl/client/connection.h"
#include "ntl/status.h"
#include "ntl/wire/bytes.h"
#include "ntl/wire/frame.h"

namespace trustlink::ntl::client {

void Connection::OnTimer(absl::Time now, Completions* done) {
  switch (state_) {
    case LinkState::kBackoff:
      // A due attempt waits at the gate while the client's others to this
      // address fill it; it is not a failure, so no backoff.
      if (now >= retry_at_ && gate_->Enter(dial_key_, &dial_ticket_)) {
        StartConnect(now, done);
      }
      return;
    case LinkState::kAwaitingProof:
      PollProof(now, done);  // also gives up at the phase deadline
      return;
    case LinkState::kConnecting:
      PollResolution(now, done);
      if (state_ != LinkState::kConnecting) {
        return;
      }
      if (now < phase_deadline_ && fd_ >= 0 && now >= address_deadline_) {
        // This address had its share of the connect timeout; try the next.
        AddressFailed("no answer", false, now, done);
        return;
      }
      [[fallthrough]];
    case LinkState::kHandshaking:
    case LinkState::kAwaitingWelcome:
      if (now >= phase_deadline_) {
        if (state_ == LinkState::kAwaitingWelcome && !missing_proof_.ok()) {
          // Hello went without an HTL proof this client requires, and no
          // verdict came in time: the link could never have been used, and
          // the agent's failure, not a slow welcome, is what to fix. (The
          // agent's request ends at this same deadline, so its failure and
          // the deadline often arrive together.)
          Fail(missing_proof_, now, done);
          return;
        }
        const char* phase = state_ != LinkState::kConnecting ? nullptr
                            : resolving_                     ? "name resolution"
                                                             : "TCP connect";
        if (phase == nullptr) {
          phase =
              state_ == LinkState::kHandshaking ? "TLS handshake" : "welcome";
        }
        const std::string tried =
            state_ == LinkState::kConnecting && !tried_.empty()
                ? absl::StrCat("; ", TriedSummary())
                : std::string();
        Fail(Error(absl::StatusCode::kDeadlineExceeded, TL_E_DEADLINE_EXCEEDED,
                   absl::StrCat("server '", server_.name, "' at ", server_.host,
                                ":", server_.port, " timed out (", phase,
                                " took more than ",
                                absl::FormatDuration(settings_.connect_timeout),
                                tried, ")")),
             now, done);
      }
      return;
    case LinkState::kReady:
      break;
    default:
      return;
  }
  if (parked_ && now >= parked_at_ + kParkFor) {
    Unpark();  // idle: the loop watches the link again
  }
  while (!deadlines_.empty() && deadlines_.Top().deadline <= now) {
    const DeadlineQueue::Entry e = deadlines_.Top();
    auto it = pending_.find(e.id);
    const bool live = it != pending_.end() && it->second.token == e.token;
    deadlines_.Pop(live);
    if (live) {
      if (reader_active_ && reader_id_ == e.id) {
        HandBackReading();
      }
      FailCall(
          &it->second,
          Error(absl::StatusCode::kDeadlineExceeded, TL_E_DEADLINE_EXCEEDED,
                absl::StrCat("call to server '", server_.name,
                             "' passed its deadline")),
          done);
      pending_.erase(it);
    }
  }
  if (now - last_rx_ >= settings_.heartbeat_timeout) {
    Fail(Error(absl::StatusCode::kUnavailable, TL_E_CONNECTION_LOST,
               absl::StrCat("nothing received from server '", server_.name,
                            "' for ", absl::FormatDuration(now - last_rx_),
                            " (heartbeat timeout); the peer or a firewall "
                            "dropped the link")),
         now, done);
    return;
  }
  if (now - last_rx_ >= settings_.heartbeat_interval &&
      now - last_ping_ >= settings_.heartbeat_interval) {
    last_ping_ = now;
    Unpark();  // the pong is for the loop
    std::string payload;
    wire::ByteWriter(&payload).U64(
        static_cast<uint64_t>(absl::ToUnixNanos(now)));
    Send(wire::FrameType::kPing, 0, payload, done);
  }
}

absl::Time Connection::NextWakeup() const {
  switch (state_) {
    case LinkState::kBackoff:
      // Queued: woken when a slot is handed over (its ticket then holds one).
      return dial_ticket_.state == DialTicket::State::kQueued
                 ? absl::InfiniteFuture()
                 : retry_at_;
    case LinkState::kConnecting:
      return fd_ >= 0 ? std::min(phase_deadline_, address_deadline_)
                      : phase_deadline_;
    case LinkState::kHandshaking:
    case LinkState::kAwaitingProof:
    case LinkState::kAwaitingWelcome:
      return phase_deadline_;
    case LinkState::kReady: {
      absl::Time t = last_rx_ + settings_.heartbeat_timeout;
      t = std::min(
          t, std::max(last_rx_, last_ping_) + settings_.heartbeat_interval);
      t = std::min(t, deadlines_.Next());
      if (parked_) {
        t = std::min(t, parked_at_ + kParkFor);
      }
      return t;
    }
    default:
      return absl::InfiniteFuture();
  }
}

}  // namespace trustlink::ntl::client
