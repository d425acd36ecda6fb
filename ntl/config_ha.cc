// Checking and reading the HA groups of a config (config_ha.h): labels and
// members, ValidateHa for ClientConfig::Validate, the groups and options as
// values. Editing is in config_ha_edit.cc, the Chrystoki import in
// config_ha_import.cc, the section's syntax in config_ha_parse.cc.

#include "ntl/config_ha.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "ntl/config_ha_internal.h"
#include "ntl/names.h"
#include "ntl/registry/model.h"
#include "ntl/status.h"

namespace trustlink::ntl {

using config_ha_internal::CheckGroupLabel;
using config_ha_internal::CollectGroups;
using config_ha_internal::ConfiguredServers;
using config_ha_internal::DerivedSerial;
using config_ha_internal::Invalid;
using config_ha_internal::kAttempts;
using config_ha_internal::Key;
using config_ha_internal::kHaOnly;
using config_ha_internal::kInterval;
using config_ha_internal::kLabel;
using config_ha_internal::kMembers;
using config_ha_internal::kMemberSyntax;
using config_ha_internal::kSerial;
using config_ha_internal::ParseList;
using config_ha_internal::ParseMember;
using config_ha_internal::ValidateHaOption;

absl::Status ValidateHaLabel(absl::string_view label) {
  absl::Status valid = registry::ValidatePartitionName(label);
  if (valid.ok()) return valid;
  return Error(absl::StatusCode::kInvalidArgument, TL_E_NAME_INVALID,
               absl::StrCat("HA group label '", absl::CHexEscape(label),
                            "' is not allowed: use 1-32 letters, digits or "
                            "_.-, not starting with '.' or '-'"));
}

absl::StatusOr<HaMemberConfig> MakeHaMember(const ClientConfig& config,
                                            absl::string_view server,
                                            absl::string_view partition,
                                            absl::string_view serial,
                                            bool standby) {
  const bool by_place = !server.empty() || !partition.empty();
  if (by_place == !serial.empty()) {
    return Invalid(absl::StrCat(
        by_place ? "give a member as a server and a partition, or as a "
                   "partition serial number, not both"
                 : "no member given: ",
        by_place ? "" : kMemberSyntax));
  }
  if (by_place && (server.empty() || partition.empty())) {
    return Invalid(absl::StrCat(
        "a member needs both a server and a partition (", kMemberSyntax, ")"));
  }
  // The parts are joined into the config's text form and parsed as such, so
  // a '/' or ',' inside a part must not pass as a separator.
  for (absl::string_view part : {server, partition, serial}) {
    if (absl::StrContains(part, '/') || absl::StrContains(part, ',')) {
      return Invalid(absl::StrCat("'", part, "' may not hold '/' or ','; ",
                                  kMemberSyntax));
    }
  }
  const std::string text =
      by_place ? absl::StrCat(server, "/", partition) : std::string(serial);
  return ParseMember(text, ConfiguredServers(config), standby);
}

absl::Status ValidateHa(const ConfigDocument& doc,
                        const std::vector<std::string>& servers) {
  std::map<std::string, std::string> labels;   // lower-case -> index
  std::map<std::string, std::string> serials;  // serial -> index
  for (const auto& [number, indexed] : CollectGroups(doc)) {
    const auto& [index, g] = indexed;
    absl::Status label = CheckGroupLabel(doc, index, g);
    if (!label.ok()) return label;
    auto [it, fresh] =
        labels.emplace(absl::AsciiStrToLower(g.label->value), index);
    if (!fresh) {
      return ConfigEntryError(
          doc, *g.label,
          absl::StrCat("label already used by ", Key(it->second, kLabel),
                       " (labels are compared without regard to case); "
                       "give each group its own label"));
    }
    if (g.serial != nullptr) {
      absl::Status serial = registry::ValidateSerial(g.serial->value);
      if (!serial.ok()) {
        return ConfigEntryError(doc, *g.serial, serial.message());
      }
      auto [sit, sfresh] = serials.emplace(g.serial->value, index);
      if (!sfresh) {
        return ConfigEntryError(
            doc, *g.serial,
            absl::StrCat("serial already used by ", Key(sit->second, kSerial),
                         "; each virtual slot needs its own serial"));
      }
    }
    std::vector<HaMemberConfig> members;
    if (g.members == nullptr ||
        absl::StripAsciiWhitespace(g.members->value).empty()) {
      return ConfigEntryError(
          doc, g.members != nullptr ? *g.members : *g.label,
          absl::StrCat("group '", g.label->value,
                       "' has no active member; list at least one in ",
                       Key(index, kMembers), " (", kMemberSyntax, ")"));
    }
    absl::Status status = ParseList(doc, *g.members, servers, false, &members);
    if (!status.ok()) return status;
    if (g.standby != nullptr) {
      status = ParseList(doc, *g.standby, servers, true, &members);
      if (!status.ok()) return status;
    }
  }
  const ConfigSection* ha = doc.FindSection(kHaConfigurationSection);
  if (ha == nullptr) return absl::OkStatus();
  for (const ConfigEntry& e : ha->entries) {
    absl::Status status = ValidateHaOption(doc, e);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<HaGroupConfig>> HaGroups(
    const ClientConfig& config) {
  absl::Status valid = config.Validate();
  if (!valid.ok()) return valid;
  const std::vector<std::string> servers = ConfiguredServers(config);
  const ConfigDocument& doc = config.document();
  std::vector<HaGroupConfig> out;
  for (const auto& [number, indexed] : CollectGroups(doc)) {
    const auto& [index, g] = indexed;
    HaGroupConfig group;
    group.index = index;
    group.label = g.label->value;
    group.serial =
        g.serial != nullptr ? g.serial->value : DerivedSerial(group.label);
    absl::Status status =
        ParseList(doc, *g.members, servers, false, &group.members);
    if (status.ok() && g.standby != nullptr) {
      status = ParseList(doc, *g.standby, servers, true, &group.members);
    }
    if (!status.ok()) return status;
    out.push_back(std::move(group));
  }
  return out;
}

absl::StatusOr<HaGroupConfig> FindHaGroup(const ClientConfig& config,
                                          absl::string_view label) {
  absl::StatusOr<std::vector<HaGroupConfig>> groups = HaGroups(config);
  if (!groups.ok()) return groups.status();
  for (HaGroupConfig& g : *groups) {
    if (absl::EqualsIgnoreCase(g.label, label)) return std::move(g);
  }
  return Error(absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
               absl::StrCat("there is no HA group '", label, "' in ",
                            config.document().file_name(),
                            "; vtl hagroup listGroups lists them, "
                            "createGroup makes one"));
}

HaOptions GetHaOptions(const ClientConfig& config) {
  const ConfigDocument& doc = config.document();
  HaOptions options;
  options.ha_only =
      doc.Get(kHaConfigurationSection, kHaOnly).value_or("0") == "1";
  int v = 0;
  if (absl::SimpleAtoi(doc.Get(kHaConfigurationSection, kInterval).value_or(""),
                       &v)) {
    options.auto_reconnect_interval_seconds = v;
  }
  if (absl::SimpleAtoi(doc.Get(kHaConfigurationSection, kAttempts).value_or(""),
                       &v)) {
    options.reconnect_attempts = v;
  }
  return options;
}

std::vector<std::string> HaGroupsUsingServer(const ClientConfig& config,
                                             absl::string_view name) {
  std::vector<std::string> labels;
  absl::StatusOr<std::vector<HaGroupConfig>> groups = HaGroups(config);
  if (!groups.ok()) return labels;
  for (const HaGroupConfig& g : *groups) {
    for (const HaMemberConfig& m : g.members) {
      if (m.serial.empty() && SameName(m.server, name)) {
        labels.push_back(g.label);
        break;
      }
    }
  }
  return labels;
}

}  // namespace trustlink::ntl
