// Client as the links' listener: link events queued under the lock and
// delivered after it, welcomes and lost links, the wait for every server's
// first attempt to settle, and each server's status. Separate from the loop
// because this is what a link's changes mean to the client's callers.

#include <algorithm>
#include <utility>
#include <vector>

#include "ntl/client/client.h"
#include "ntl/client/fresh_status.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {

void Client::PushLinkEventLocked(LinkEvent::Kind kind, size_t server,
                                 absl::Status status) {
  LinkEvent event;
  event.kind = kind;
  event.server = server;
  event.status = std::move(status);
  QueueLinkEventLocked(std::move(event));
}

void Client::QueueLinkEventLocked(LinkEvent event) {
  if (!settings_.on_link_event) {
    return;
  }
  link_events_.push_back(std::move(event));
  // A change found outside Process() (a failed write on a caller's thread) is
  // delivered by the next one: make it come soon.
  Wake();
}

void Client::DeliverLinkEvents() {
  std::vector<LinkEvent> events;
  {
    internal::MutexLock lock(&mu_);
    events.swap(link_events_);
  }
  for (const LinkEvent& e : events) {
    settings_.on_link_event(e);
  }
}

absl::Status Client::WaitReady(absl::Time deadline) {
  for (;;) {
    {
      internal::MutexLock lock(&mu_);
      if (initial_done_) {
        return absl::OkStatus();
      }
      if (absl::Now() >= deadline) {
        FinishInitialLocked();
        return Error(absl::StatusCode::kDeadlineExceeded,
                     TL_E_DEADLINE_EXCEEDED,
                     "not every server answered before the deadline");
      }
      if (settings_.use_io_thread) {
        settled_cv_.WaitWithDeadline(&mu_, deadline);
        continue;
      }
    }
    if (process_mu_.TryLock()) {
      ProcessLocked(std::min(deadline - absl::Now(), absl::Milliseconds(50)));
      process_mu_.Unlock();
    } else {
      internal::MutexLock lock(&mu_);
      settled_cv_.WaitWithDeadline(
          &mu_, std::min(deadline, absl::Now() + absl::Milliseconds(5)));
    }
  }
}

void Client::FinishInitialLocked() {
  if (initial_done_) {
    return;
  }
  initial_done_ = true;
  std::vector<size_t> welcomed;
  for (size_t i = 0; i < conns_.size(); ++i) {
    if (welcomed_[i]) {
      welcomed.push_back(i);
    }
  }
  AssignSlotsLocked(welcomed);
  NumberHaSlotsLocked();
  RefreshHaLocked(absl::Now());
  settled_cv_.SignalAll();
}

void Client::OnWelcome(size_t server, const wire::Welcome&) {
  mu_.AssertHeld();
  welcomed_[server] = true;
  if (initial_done_) {
    to_number_.push_back(server);  // NumberWelcomedLocked, before unlocking
  }
  if (!up_[server]) {
    up_[server] = true;
    stats_.LinkUp();
    PushLinkEventLocked(LinkEvent::Kind::kUp, server, absl::OkStatus());
  } else {
    PushLinkEventLocked(LinkEvent::Kind::kSlotsChanged, server,
                        absl::OkStatus());
  }
  // The HA groups are refreshed once the slots are numbered
  // (NumberWelcomedLocked).
}

void Client::OnLinkDown(size_t server) {
  mu_.AssertHeld();
  up_[server] = false;
  stats_.LinkDown();
  PushLinkEventLocked(LinkEvent::Kind::kDown, server,
                      conns_[server]->last_error());
  if (initial_done_) {
    RefreshHaLocked(absl::Now());
  }
}

void Client::OnFirstAttemptSettled(size_t) {
  mu_.AssertHeld();
  if (unsettled_ > 0 && --unsettled_ == 0) {
    FinishInitialLocked();
  }
}

std::vector<ServerStatus> Client::Servers() {
  internal::MutexLock lock(&mu_);
  std::vector<ServerStatus> out;
  for (size_t i = 0; i < conns_.size(); ++i) {
    const Connection& c = *conns_[i];
    ServerStatus s;
    s.name = c.server().name;
    s.host = c.server().host;
    s.port = c.server().port;
    s.state = c.state();
    s.last_error = FreshStatus(c.last_error());
    s.welcomed = welcomed_[i];
    s.resumed = c.resumed();
    s.connects = c.connects();
    s.retry_at = c.retry_at();
    s.tls_writes = c.tls_writes();
    s.socket_reads = c.socket_reads();
    s.caller_reads = c.caller_reads();
    s.epoll_changes = c.epoll_changes();
    s.busy_poll = c.busy_poll();
    s.client_label = c.client_label();
    s.slots = c.slots();
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace trustlink::ntl::client
