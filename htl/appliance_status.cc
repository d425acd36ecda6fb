// htl::Appliance's clock-driven side: which HTL status a chain is in now (the
// liveness window and the boot-relative grace period), and turning an ended
// grace period into a persisted Down, lazily or from Tick.

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "htl/appliance.h"
#include "htl/appliance_internal.h"

namespace trustlink::htl {

using appliance_internal::kLockFile;

namespace {

// Three missed heartbeats and the link counts as dropped.
constexpr int kLivenessIntervals = 3;

}  // namespace

HtlStatus Appliance::StatusOf(const ClientState& s, const HtlSettings& settings,
                              absl::Time now, absl::Time* grace_end) const {
  if (s.chain == Chain::kNone) return HtlStatus::kUnknown;
  if (s.chain == Chain::kDown) return HtlStatus::kDown;
  const absl::Duration liveness =
      kLivenessIntervals * settings.heartbeat_interval;
  const bool link_this_boot = s.link_up && s.link_boot == boot_.id;
  if (link_this_boot && now - s.last_seen <= liveness) return HtlStatus::kUp;
  // The grace period runs from the moment the link was lost, and never from
  // before the daemon's current run started: an appliance outage costs no
  // client its HTL.
  absl::Time start = link_this_boot ? s.last_seen + liveness : s.link_down_at;
  if (!link_this_boot && s.link_up) start = s.last_seen;
  start = std::max(start, boot_.at);
  const absl::Time end = start + settings.grace_period;
  if (grace_end != nullptr) *grace_end = end;
  return now < end ? HtlStatus::kGracePeriod : HtlStatus::kDown;
}

absl::StatusOr<bool> Appliance::MaterialiseDown(ClientState* s,
                                                const HtlSettings& settings,
                                                absl::Time now,
                                                std::vector<HtlEvent>* events) {
  if (s->chain != Chain::kAlive ||
      StatusOf(*s, settings, now, nullptr) != HtlStatus::kDown) {
    return false;
  }
  s->chain = Chain::kDown;
  s->down_reason = "grace period expired";
  s->link_up = false;
  if (absl::Status st = Save(*s); !st.ok()) return st;
  active_session_.erase(s->client);
  HtlEvent e;
  e.kind = HtlEvent::Kind::kDown;
  e.client = s->client;
  e.at = now;
  e.message =
      absl::StrCat("HTL for client '", s->client,
                   "' is Down: the grace period expired without an HTL link");
  events->push_back(std::move(e));
  return true;
}

void Appliance::Tick() {
  absl::StatusOr<HtlSettings> settings = LoadSettings();
  if (!settings.ok()) return;
  std::vector<HtlEvent> events;
  {
    ntl::internal::MutexLock lock(&mu_);
    absl::StatusOr<internal::FileLock> flock = dir_.Lock(kLockFile);
    if (!flock.ok()) return;
    const absl::Time now = clock_->Now();
    const std::vector<std::string> live(live_.begin(), live_.end());
    for (const std::string& client : live) {
      absl::StatusOr<ClientState> s = Load(client);
      if (!s.ok()) continue;
      if (s->chain != Chain::kAlive) {
        // Save() keeps live_ in step with this process's own changes, so the
        // chain ended in another process (ntlsh htl clear): the links this
        // process serves must close all the same.
        live_.erase(client);
        HtlEvent e;
        e.kind = HtlEvent::Kind::kDown;
        e.client = client;
        e.at = now;
        e.message = absl::StrCat("HTL state of client '", client,
                                 "' was cleared or taken Down by another "
                                 "process (ntlsh)");
        events.push_back(std::move(e));
        continue;
      }
      (void)MaterialiseDown(&*s, *settings, now, &events);
    }
  }
  Dispatch(events);
}

}  // namespace trustlink::htl
