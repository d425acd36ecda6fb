// htl::Appliance's administration of a client's one-time tokens (ntlsh):
// issuing one, the client's OTT expiry, clearing the client's HTL state, and
// finding whose a presented token is.

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "htl/appliance.h"
#include "htl/appliance_internal.h"
#include "htl/crypto.h"
#include "htl/ott.h"
#include "ntl/status.h"

namespace trustlink::htl {

using appliance_internal::kLockFile;
using appliance_internal::kMaxStateFile;

absl::StatusOr<std::string> Appliance::GenerateOtt(
    absl::string_view client, absl::optional<absl::Duration> expiry) {
  if (expiry.has_value() &&
      (*expiry < absl::Seconds(1) || *expiry > absl::Hours(24 * 30))) {
    return ntl::Error(absl::StatusCode::kInvalidArgument, TL_E_OUT_OF_RANGE,
                      "OTT expiry must be between 1 second and 30 days");
  }
  absl::StatusOr<HtlSettings> settings = LoadSettings();
  if (!settings.ok()) return settings.status();
  ntl::internal::MutexLock lock(&mu_);
  absl::StatusOr<internal::FileLock> flock = dir_.Lock(kLockFile);
  if (!flock.ok()) return flock.status();
  absl::StatusOr<ClientState> s = Load(client);
  if (!s.ok()) return s.status();
  if (expiry.has_value())
    s->ott_expiry_override_s = absl::ToInt64Seconds(*expiry);
  const absl::Duration effective = s->ott_expiry_override_s >= 0
                                       ? absl::Seconds(s->ott_expiry_override_s)
                                       : settings->default_ott_expiry;
  if (s->has_ott && !s->ott.consumed) s->voided_ott_hash = s->ott.hash;
  NewOtt ott = htl::GenerateOtt(clock_->Now(), effective);
  s->ott = ott.record;
  s->has_ott = true;
  if (absl::Status st = Save(*s); !st.ok()) return st;
  return std::move(ott.token);
}

absl::Status Appliance::SetClientOttExpiry(
    absl::string_view client, absl::optional<absl::Duration> expiry) {
  if (expiry.has_value() &&
      (*expiry < absl::Seconds(1) || *expiry > absl::Hours(24 * 30))) {
    return ntl::Error(absl::StatusCode::kInvalidArgument, TL_E_OUT_OF_RANGE,
                      "OTT expiry must be between 1 second and 30 days");
  }
  ntl::internal::MutexLock lock(&mu_);
  absl::StatusOr<internal::FileLock> flock = dir_.Lock(kLockFile);
  if (!flock.ok()) return flock.status();
  absl::StatusOr<ClientState> s = Load(client);
  if (!s.ok()) return s.status();
  s->ott_expiry_override_s =
      expiry.has_value() ? absl::ToInt64Seconds(*expiry) : -1;
  return Save(*s);
}

absl::Status Appliance::Clear(absl::string_view client) {
  std::vector<HtlEvent> events;
  {
    ntl::internal::MutexLock lock(&mu_);
    absl::StatusOr<internal::FileLock> flock = dir_.Lock(kLockFile);
    if (!flock.ok()) return flock.status();
    absl::StatusOr<ClientState> s = Load(client);
    ClientState cleared;
    cleared.client = std::string(client);
    if (s.ok()) {
      cleared.next_generation = s->next_generation;  // never reused
      cleared.ott_expiry_override_s = s->ott_expiry_override_s;
    } else if (absl::IsDataLoss(s.status())) {
      // A corrupt state file is what this command is for (the load error says
      // to run it). Nothing in it can be trusted, so the new chain counts its
      // generations from the clock: past any the lost file can have issued.
      cleared.next_generation = static_cast<uint64_t>(
          std::max<int64_t>(1, absl::ToUnixMicros(clock_->Now())));
    } else {
      return s.status();
    }
    if (absl::Status st = Save(cleared); !st.ok()) return st;
    active_session_.erase(cleared.client);
    HtlEvent e;
    e.kind = HtlEvent::Kind::kDown;
    e.client = cleared.client;
    e.at = clock_->Now();
    e.message = absl::StrCat("HTL state of client '", cleared.client,
                             "' was cleared by the admin");
    events.push_back(std::move(e));
  }
  Dispatch(events);
  return absl::OkStatus();
}

absl::StatusOr<std::string> Appliance::OwnerOfToken(
    absl::string_view token_hash) const {
  // Only reached for a token that is not the presenting client's, to say whose
  // it is.
  absl::StatusOr<std::vector<std::string>> names = dir_.List();
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    if (!absl::StartsWith(name, kClientFilePrefix)) continue;
    absl::StatusOr<std::string> text = dir_.ReadFile(name, kMaxStateFile);
    if (!text.ok()) continue;
    absl::StatusOr<ClientState> s = ParseClientState(*text, name);
    if (!s.ok() || !s->has_ott) continue;
    if (ConstantTimeEquals(s->ott.hash, token_hash)) return s->client;
  }
  return ntl::Error(absl::StatusCode::kNotFound, TL_E_NOT_FOUND, "no owner");
}

}  // namespace trustlink::htl
