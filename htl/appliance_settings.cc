// htl::Appliance's settings: the grace period, the default OTT expiry and the
// heartbeat interval, kept in <root>/htl/settings so ntlsh's changes reach
// ntlsd at its next request.

#include <cstdint>
#include <functional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "htl/appliance.h"
#include "htl/appliance_internal.h"
#include "ntl/status.h"

namespace trustlink::htl {

using appliance_internal::kLockFile;

namespace {

constexpr absl::string_view kSettingsFile = "settings";

}  // namespace

absl::StatusOr<HtlSettings> Appliance::LoadSettings() const {
  HtlSettings settings;
  absl::StatusOr<std::string> text = dir_.ReadFile(kSettingsFile, 4096);
  if (absl::IsNotFound(text.status())) return settings;
  if (!text.ok()) return text.status();
  for (absl::string_view line :
       absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(line, absl::MaxSplits(' ', 1));
    int64_t seconds = 0;
    if (!absl::SimpleAtoi(kv.second, &seconds) || seconds < 0) {
      return ntl::Error(absl::StatusCode::kDataLoss, TL_E_DATA_LOSS,
                        absl::StrCat("HTL settings file ", dir_.path(),
                                     "/settings has a bad line '", line, "'"));
    }
    if (kv.first == "grace_period_s") {
      settings.grace_period = absl::Seconds(seconds);
    } else if (kv.first == "default_ott_expiry_s") {
      settings.default_ott_expiry = absl::Seconds(seconds);
    } else if (kv.first == "heartbeat_interval_s") {
      settings.heartbeat_interval = absl::Seconds(seconds);
    }
  }
  return settings;
}

absl::Status Appliance::SaveSettings(const HtlSettings& settings) const {
  return dir_.WriteFileAtomic(
      kSettingsFile,
      absl::StrCat("grace_period_s ",
                   absl::ToInt64Seconds(settings.grace_period),
                   "\ndefault_ott_expiry_s ",
                   absl::ToInt64Seconds(settings.default_ott_expiry),
                   "\nheartbeat_interval_s ",
                   absl::ToInt64Seconds(settings.heartbeat_interval), "\n"),
      0600);
}

absl::StatusOr<HtlSettings> Appliance::Settings() const {
  return LoadSettings();
}

absl::Status Appliance::EditSettings(
    const std::function<void(HtlSettings*)>& edit) {
  ntl::internal::MutexLock lock(&mu_);
  absl::StatusOr<internal::FileLock> flock = dir_.Lock(kLockFile);
  if (!flock.ok()) return flock.status();
  absl::StatusOr<HtlSettings> s = LoadSettings();
  if (!s.ok()) return s.status();
  edit(&*s);
  return SaveSettings(*s);
}

absl::Status Appliance::SetGracePeriod(absl::Duration d) {
  if (d < absl::ZeroDuration() || d > absl::Hours(24 * 7)) {
    return ntl::Error(absl::StatusCode::kInvalidArgument, TL_E_OUT_OF_RANGE,
                      "HTL grace period must be between 0 seconds and 7 days");
  }
  return EditSettings([d](HtlSettings* s) {
    s->grace_period = absl::Seconds(absl::ToInt64Seconds(d));
  });
}

absl::Status Appliance::SetDefaultOttExpiry(absl::Duration d) {
  if (d < absl::Seconds(1) || d > absl::Hours(24 * 30)) {
    return ntl::Error(
        absl::StatusCode::kInvalidArgument, TL_E_OUT_OF_RANGE,
        "default OTT expiry must be between 1 second and 30 days");
  }
  return EditSettings([d](HtlSettings* s) {
    s->default_ott_expiry = absl::Seconds(absl::ToInt64Seconds(d));
  });
}

absl::Status Appliance::SetHeartbeatInterval(absl::Duration d) {
  if (d < absl::Seconds(1) || d > absl::Hours(1)) {
    return ntl::Error(
        absl::StatusCode::kInvalidArgument, TL_E_OUT_OF_RANGE,
        "HTL heartbeat interval must be between 1 second and 1 hour");
  }
  return EditSettings([d](HtlSettings* s) {
    s->heartbeat_interval = absl::Seconds(absl::ToInt64Seconds(d));
  });
}

}  // namespace trustlink::htl
