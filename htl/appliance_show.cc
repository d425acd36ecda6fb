// htl::Appliance's `htl show`: the status words and one ClientView per client,
// computed from the persisted state without changing it.

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "htl/appliance.h"
#include "htl/appliance_internal.h"

namespace trustlink::htl {

using appliance_internal::kMaxStateFile;

const char* HtlStatusName(HtlStatus status) {
  switch (status) {
    case HtlStatus::kUp:
      return "Up";
    case HtlStatus::kGracePeriod:
      return "Grace Period";
    case HtlStatus::kDown:
      return "Down";
    case HtlStatus::kUnknown:
      break;
  }
  return "Unknown";
}

const char* OttStatusName(OttStatus status) {
  switch (status) {
    case OttStatus::kReady:
      return "Ready";
    case OttStatus::kInUse:
      return "In use";
    case OttStatus::kExpired:
      return "Expired";
    case OttStatus::kNoFile:
      break;
  }
  return "No file";
}

ClientView Appliance::ViewOf(const ClientState& s, const HtlSettings& settings,
                             absl::Time now) const {
  ClientView v;
  v.client = s.client;
  v.htl = StatusOf(s, settings, now, &v.grace_ends_at);
  if (v.htl != HtlStatus::kGracePeriod) v.grace_ends_at = absl::InfinitePast();
  v.down_reason = s.chain == Chain::kDown     ? s.down_reason
                  : v.htl == HtlStatus::kDown ? "grace period expired"
                                              : "";
  if (!s.has_ott) {
    v.ott = OttStatus::kNoFile;
  } else if (s.ott.consumed) {
    v.ott = s.chain == Chain::kAlive && v.htl != HtlStatus::kDown
                ? OttStatus::kInUse
                : OttStatus::kNoFile;
  } else {
    v.ott = now >= s.ott.expires_at ? OttStatus::kExpired : OttStatus::kReady;
  }
  if (s.has_ott) v.ott_expires_at = s.ott.expires_at;
  v.ott_expiry_is_default = s.ott_expiry_override_s < 0;
  v.ott_expiry_seconds = v.ott_expiry_is_default
                             ? absl::ToInt64Seconds(settings.default_ott_expiry)
                             : s.ott_expiry_override_s;
  v.generation = s.has_current ? s.current.generation : 0;
  v.link_source = s.link_source;
  return v;
}

absl::StatusOr<ClientView> Appliance::Show(absl::string_view client) {
  absl::StatusOr<HtlSettings> settings = LoadSettings();
  if (!settings.ok()) return settings.status();
  ntl::internal::MutexLock lock(&mu_);
  absl::StatusOr<ClientState> s = Load(client);
  if (!s.ok()) return s.status();
  return ViewOf(*s, *settings, clock_->Now());
}

absl::StatusOr<std::vector<ClientView>> Appliance::ShowAll() {
  absl::StatusOr<HtlSettings> settings = LoadSettings();
  if (!settings.ok()) return settings.status();
  absl::StatusOr<std::vector<std::string>> names = dir_.List();
  if (!names.ok()) return names.status();
  std::sort(names->begin(), names->end());
  const absl::Time now = clock_->Now();
  std::vector<ClientView> views;
  for (const std::string& name : *names) {
    if (!absl::StartsWith(name, kClientFilePrefix)) continue;
    absl::StatusOr<std::string> text = dir_.ReadFile(name, kMaxStateFile);
    if (absl::IsNotFound(text.status())) continue;  // cleared meanwhile
    if (!text.ok()) return text.status();
    absl::StatusOr<ClientState> s = ParseClientState(*text, name);
    if (!s.ok()) return s.status();
    views.push_back(ViewOf(*s, *settings, now));
  }
  std::sort(views.begin(), views.end(),
            [](const ClientView& a, const ClientView& b) {
              return a.client < b.client;
            });
  return views;
}

}  // namespace trustlink::htl
