// Editing the HA groups and options of a ClientConfig (config_ha.h): create,
// add or remove a member, delete and renumber, the HAConfiguration setters.
// Each group edit is validated whole before it replaces the caller's config.

#include <algorithm>
#include <cstdint>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "ntl/config_ha.h"
#include "ntl/config_ha_internal.h"
#include "ntl/status.h"

namespace trustlink::ntl {
namespace config_ha_internal {

std::string JoinMembers(const std::vector<HaMemberConfig>& members,
                        bool standby) {
  std::vector<std::string> texts;
  for (const HaMemberConfig& m : members) {
    if (m.standby == standby) texts.push_back(m.Text());
  }
  return absl::StrJoin(texts, ",");
}

void WriteMembers(ClientConfig* config, const HaGroupConfig& group) {
  ConfigDocument* doc = config->mutable_document();
  doc->Set(kVirtualTokenSection, Key(group.index, kMembers),
           JoinMembers(group.members, false));
  const std::string standby = JoinMembers(group.members, true);
  if (standby.empty()) {
    doc->Remove(kVirtualTokenSection, Key(group.index, kStandby));
  } else {
    doc->Set(kVirtualTokenSection, Key(group.index, kStandby), standby);
  }
}

absl::Status Commit(ClientConfig* config, ClientConfig edited) {
  absl::Status valid = edited.Validate();
  if (!valid.ok()) return valid;
  *config = std::move(edited);
  return absl::OkStatus();
}

}  // namespace config_ha_internal

using config_ha_internal::Commit;
using config_ha_internal::DerivedSerial;
using config_ha_internal::IndexNumber;
using config_ha_internal::Invalid;
using config_ha_internal::kAttempts;
using config_ha_internal::Key;
using config_ha_internal::kHaOnly;
using config_ha_internal::kInterval;
using config_ha_internal::kLabel;
using config_ha_internal::kSerial;
using config_ha_internal::SameMember;
using config_ha_internal::SplitGroupKey;
using config_ha_internal::WriteMembers;

absl::StatusOr<HaGroupConfig> CreateHaGroup(ClientConfig* config,
                                            absl::string_view label,
                                            absl::string_view serial,
                                            const HaMemberConfig& first) {
  absl::Status valid = ValidateHaLabel(label);
  if (!valid.ok()) return valid;
  if (first.standby) {
    return Invalid(
        "a group's first member must be active; add standby "
        "members after creating the group");
  }
  absl::StatusOr<std::vector<HaGroupConfig>> groups = HaGroups(*config);
  if (!groups.ok()) return groups.status();
  int next = 0;
  std::set<std::string> serials;
  for (const HaGroupConfig& g : *groups) {
    if (absl::EqualsIgnoreCase(g.label, label)) {
      return Error(absl::StatusCode::kAlreadyExists, TL_E_ALREADY_EXISTS,
                   absl::StrCat("HA group '", g.label,
                                "' exists already; add members to it "
                                "(vtl hagroup addMember) or pick another "
                                "label"));
    }
    next = std::max(next, IndexNumber(g.index) + 1);
    serials.insert(g.serial);
  }
  HaGroupConfig group;
  group.index = absl::StrFormat("%02d", next);
  group.label = std::string(label);
  group.serial = serial.empty() ? DerivedSerial(label) : std::string(serial);
  // A derived serial that collides (two labels, one hash) moves on.
  while (serial.empty() && serials.count(group.serial) != 0) {
    uint64_t n = 0;
    (void)absl::SimpleAtoi(group.serial, &n);
    group.serial = absl::StrCat(n + 1);
  }
  group.members.push_back(first);
  ClientConfig edited = *config;
  ConfigDocument* doc = edited.mutable_document();
  doc->Set(kVirtualTokenSection, Key(group.index, kLabel), group.label);
  doc->Set(kVirtualTokenSection, Key(group.index, kSerial), group.serial);
  WriteMembers(&edited, group);
  absl::Status status = Commit(config, std::move(edited));
  if (!status.ok()) return status;
  return group;
}

absl::Status AddHaMember(ClientConfig* config, absl::string_view label,
                         const HaMemberConfig& member) {
  absl::StatusOr<HaGroupConfig> group = FindHaGroup(*config, label);
  if (!group.ok()) return group.status();
  for (HaMemberConfig& m : group->members) {
    if (!SameMember(m, member)) continue;
    if (m.standby == member.standby) {
      return Error(absl::StatusCode::kAlreadyExists, TL_E_ALREADY_EXISTS,
                   absl::StrCat("'", member.Text(), "' is already ",
                                member.standby ? "a standby" : "an active",
                                " member of HA group '", group->label, "'"));
    }
    m.standby = member.standby;
    const bool active_left =
        std::any_of(group->members.begin(), group->members.end(),
                    [](const HaMemberConfig& x) { return !x.standby; });
    if (!active_left) {
      return Error(
          absl::StatusCode::kFailedPrecondition, TL_E_FAILED_PRECONDITION,
          absl::StrCat("'", member.Text(),
                       "' is the only active member of HA group '",
                       group->label, "'; add another active member first"));
    }
    ClientConfig edited = *config;
    WriteMembers(&edited, *group);
    return Commit(config, std::move(edited));
  }
  group->members.push_back(member);
  ClientConfig edited = *config;
  WriteMembers(&edited, *group);
  return Commit(config, std::move(edited));
}

absl::Status RemoveHaMember(ClientConfig* config, absl::string_view label,
                            const HaMemberConfig& member) {
  absl::StatusOr<HaGroupConfig> group = FindHaGroup(*config, label);
  if (!group.ok()) return group.status();
  auto it = std::find_if(
      group->members.begin(), group->members.end(),
      [&](const HaMemberConfig& m) { return SameMember(m, member); });
  if (it == group->members.end()) {
    return Error(absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
                 absl::StrCat("'", member.Text(),
                              "' is not a member of HA group '", group->label,
                              "'; vtl hagroup listGroups lists the members"));
  }
  group->members.erase(it);
  if (std::none_of(group->members.begin(), group->members.end(),
                   [](const HaMemberConfig& m) { return !m.standby; })) {
    return Error(
        absl::StatusCode::kFailedPrecondition, TL_E_FAILED_PRECONDITION,
        absl::StrCat("'", member.Text(),
                     "' is the last active member of HA group '", group->label,
                     "'; add another active member first, or delete "
                     "the group (vtl hagroup deleteGroup)"));
  }
  ClientConfig edited = *config;
  WriteMembers(&edited, *group);
  return Commit(config, std::move(edited));
}

absl::Status DeleteHaGroup(ClientConfig* config, absl::string_view label) {
  absl::StatusOr<HaGroupConfig> group = FindHaGroup(*config, label);
  if (!group.ok()) return group.status();
  ClientConfig edited = *config;
  ConfigDocument* doc = edited.mutable_document();
  const int removed = IndexNumber(group->index);
  // Collect first: the document changes under the loop otherwise.
  std::vector<std::pair<std::string, std::string>> keys;  // key, suffix
  std::vector<int> numbers;
  if (const ConfigSection* s = doc->FindSection(kVirtualTokenSection)) {
    for (const ConfigEntry& e : s->entries) {
      std::string index, suffix;
      if (SplitGroupKey(e.key, &index, &suffix)) {
        keys.emplace_back(e.key, suffix);
        numbers.push_back(IndexNumber(index));
      }
    }
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    if (numbers[i] == removed) doc->Remove(kVirtualTokenSection, keys[i].first);
  }
  // Renaming upwards from the gap never lands on a key still in use.
  std::vector<size_t> order(keys.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return numbers[a] < numbers[b]; });
  for (size_t i : order) {
    if (numbers[i] <= removed) continue;
    doc->Rename(kVirtualTokenSection, keys[i].first,
                Key(absl::StrFormat("%02d", numbers[i] - 1), keys[i].second));
  }
  return Commit(config, std::move(edited));
}

void SetHaOnly(ClientConfig* config, bool ha_only) {
  config->mutable_document()->Set(kHaConfigurationSection, kHaOnly,
                                  ha_only ? "1" : "0");
}

absl::Status SetHaReconnectInterval(ClientConfig* config, int seconds) {
  if (seconds < 1 || seconds > kMaxAutoReconnectIntervalSeconds) {
    return Error(absl::StatusCode::kOutOfRange, TL_E_OUT_OF_RANGE,
                 absl::StrCat("AutoReconnectInterval ", seconds,
                              " is out of range; give 1 to ",
                              kMaxAutoReconnectIntervalSeconds, " seconds"));
  }
  config->mutable_document()->Set(kHaConfigurationSection, kInterval,
                                  absl::StrCat(seconds));
  return absl::OkStatus();
}

absl::Status SetHaReconnectAttempts(ClientConfig* config, int attempts) {
  if (attempts < -1 || attempts > kMaxReconnectAttempts) {
    return Error(absl::StatusCode::kOutOfRange, TL_E_OUT_OF_RANGE,
                 absl::StrCat("reconnAtt ", attempts,
                              " is out of range; give -1 (for ever), 0 "
                              "(never) or a count up to ",
                              kMaxReconnectAttempts));
  }
  config->mutable_document()->Set(kHaConfigurationSection, kAttempts,
                                  absl::StrCat(attempts));
  return absl::OkStatus();
}

}  // namespace trustlink::ntl
