// ImportChrystokiHa (config_ha.h): a Chrystoki.conf's VirtualToken groups
// and HAConfiguration values carried into trustlink.conf.

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ntl/config_ha.h"
#include "ntl/config_ha_internal.h"

namespace trustlink::ntl {

using config_ha_internal::CheckGroupLabel;
using config_ha_internal::CollectGroups;
using config_ha_internal::ConfiguredServers;
using config_ha_internal::IndexNumber;
using config_ha_internal::JoinMembers;
using config_ha_internal::kAttempts;
using config_ha_internal::Key;
using config_ha_internal::kHaOnly;
using config_ha_internal::kInterval;
using config_ha_internal::kLabel;
using config_ha_internal::kMembers;
using config_ha_internal::kSerial;
using config_ha_internal::ParseList;
using config_ha_internal::SameMember;
using config_ha_internal::ValidateHaOption;
using config_ha_internal::WriteMembers;

absl::Status ImportChrystokiHa(const ConfigDocument& source,
                               ClientConfig* config,
                               std::vector<std::string>* report) {
  ClientConfig edited = *config;
  const std::vector<std::string> servers = ConfiguredServers(edited);
  absl::StatusOr<std::vector<HaGroupConfig>> existing = HaGroups(edited);
  if (!existing.ok()) return existing.status();
  int next = 0;
  for (const HaGroupConfig& g : *existing) {
    next = std::max(next, IndexNumber(g.index) + 1);
  }
  for (const auto& [number, indexed] : CollectGroups(source)) {
    const auto& [index, g] = indexed;
    absl::Status label = CheckGroupLabel(source, index, g);
    if (!label.ok()) return label;
    if (FindHaGroup(edited, g.label->value).ok()) {
      report->push_back(absl::StrCat("kept HA group ", g.label->value,
                                     ": it is already configured"));
      continue;
    }
    HaGroupConfig group;
    group.index = absl::StrFormat("%02d", next);
    group.label = g.label->value;
    std::vector<HaMemberConfig> active, standby;
    if (g.members != nullptr) {
      absl::Status status =
          ParseList(source, *g.members, servers, false, &active);
      if (!status.ok()) return status;
    }
    if (g.standby != nullptr) {
      absl::Status status =
          ParseList(source, *g.standby, servers, true, &standby);
      if (!status.ok()) return status;
    }
    // Luna lists a standby member among the members too; it is standby.
    for (const HaMemberConfig& m : active) {
      if (std::none_of(
              standby.begin(), standby.end(),
              [&](const HaMemberConfig& s) { return SameMember(s, m); })) {
        group.members.push_back(m);
      }
    }
    if (group.members.empty()) {
      return ConfigEntryError(
          source, g.members != nullptr ? *g.members : *g.label,
          absl::StrCat("group '", group.label,
                       "' has no active member; trustlink needs at least "
                       "one in ",
                       Key(index, kMembers)));
    }
    group.members.insert(group.members.end(), standby.begin(), standby.end());
    ConfigDocument* doc = edited.mutable_document();
    doc->Set(kVirtualTokenSection, Key(group.index, kLabel), group.label);
    if (g.serial != nullptr) {
      doc->Set(kVirtualTokenSection, Key(group.index, kSerial),
               g.serial->value);
    }
    WriteMembers(&edited, group);
    absl::Status valid = edited.Validate();
    if (!valid.ok()) {
      return ConfigEntryError(source, *g.label, valid.message());
    }
    report->push_back(absl::StrCat(
        "imported HA group ", group.label, " with members ",
        JoinMembers(group.members, false),
        standby.empty()
            ? ""
            : absl::StrCat(" and standby ", JoinMembers(group.members, true))));
    ++next;
  }
  if (const ConfigSection* ha = source.FindSection(kHaConfigurationSection)) {
    for (const ConfigEntry& e : ha->entries) {
      if (e.key != kHaOnly && e.key != kInterval && e.key != kAttempts) {
        continue;
      }
      absl::Status valid = ValidateHaOption(source, e);
      if (!valid.ok()) return valid;
      edited.mutable_document()->Set(kHaConfigurationSection, e.key, e.value);
      report->push_back(absl::StrCat("imported ", e.key, " = ", e.value));
    }
  }
  *config = std::move(edited);
  return absl::OkStatus();
}

}  // namespace trustlink::ntl
