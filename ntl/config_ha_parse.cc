// Reading the VirtualToken and HAConfiguration sections (config_ha.h): the
// per-group keys, one member and a member list, the groups of a document, the
// HAConfiguration values. Shared by the files of config_ha through
// config_ha_internal.h.

#include <algorithm>
#include <cstdint>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "ntl/config_ha.h"
#include "ntl/config_ha_internal.h"
#include "ntl/names.h"
#include "ntl/registry/model.h"
#include "ntl/status.h"

namespace trustlink::ntl {
namespace config_ha_internal {
namespace {

absl::Status ValidateInt(const ConfigDocument& doc, const ConfigEntry& e,
                         int low, int high, absl::string_view what) {
  int v = 0;
  if (!absl::SimpleAtoi(e.value, &v) || v < low || v > high) {
    return ConfigEntryError(doc, e, what);
  }
  return absl::OkStatus();
}

}  // namespace

std::string Key(absl::string_view index, absl::string_view suffix) {
  return absl::StrCat(kGroupPrefix, index, suffix);
}

bool SplitGroupKey(absl::string_view key, std::string* index,
                   std::string* suffix) {
  if (!absl::ConsumePrefix(&key, kGroupPrefix)) return false;
  size_t digits = 0;
  while (digits < key.size() &&
         absl::ascii_isdigit(static_cast<unsigned char>(key[digits]))) {
    ++digits;
  }
  if (digits == 0) return false;
  *index = std::string(key.substr(0, digits));
  *suffix = std::string(key.substr(digits));
  return true;
}

int IndexNumber(absl::string_view index) {
  int n = 0;
  if (index.size() > 3 || !absl::SimpleAtoi(index, &n)) return -1;
  return n;
}

absl::Status Invalid(absl::string_view message) {
  return Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
               message);
}

absl::StatusOr<HaMemberConfig> ParseMember(
    absl::string_view item, const std::vector<std::string>& servers,
    bool standby) {
  HaMemberConfig m;
  m.standby = standby;
  const size_t slash = item.rfind('/');
  if (slash == absl::string_view::npos) {
    if (item.empty() || !std::all_of(item.begin(), item.end(), [](char c) {
          return absl::ascii_isdigit(static_cast<unsigned char>(c));
        })) {
      return Invalid(absl::StrCat("member '", absl::CHexEscape(item),
                                  "' is neither <server>/<partition> nor a "
                                  "serial number; ",
                                  kMemberSyntax));
    }
    absl::Status serial = registry::ValidateSerial(item);
    if (!serial.ok()) return serial;
    m.serial = std::string(item);
    return m;
  }
  absl::string_view server = item.substr(0, slash);
  absl::string_view partition = item.substr(slash + 1);
  absl::StatusOr<CanonicalName> name = CanonicalizeNameWithHost(server, "");
  if (!name.ok()) {
    return Invalid(absl::StrCat("member '", absl::CHexEscape(item), "': ",
                                name.status().message(), "; ", kMemberSyntax));
  }
  if (std::find(servers.begin(), servers.end(), name->canonical) ==
      servers.end()) {
    return Error(
        absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
        absl::StrCat("member '", item, "' names server '", name->canonical,
                     "', which is not configured; register it first "
                     "(vtl addServer), or correct the name"));
  }
  absl::Status valid = registry::ValidatePartitionName(partition);
  if (!valid.ok()) {
    return Invalid(absl::StrCat("member '", item, "': ", valid.message()));
  }
  m.server = name->canonical;
  m.partition = std::string(partition);
  return m;
}

bool SameMember(const HaMemberConfig& a, const HaMemberConfig& b) {
  if (!a.serial.empty() || !b.serial.empty()) return a.serial == b.serial;
  return SameName(a.server, b.server) && a.partition == b.partition;
}

std::map<int, std::pair<std::string, GroupEntries>> CollectGroups(
    const ConfigDocument& doc) {
  std::map<int, std::pair<std::string, GroupEntries>> groups;
  const ConfigSection* s = doc.FindSection(kVirtualTokenSection);
  if (s == nullptr) return groups;
  for (const ConfigEntry& e : s->entries) {
    std::string index, suffix;
    if (!SplitGroupKey(e.key, &index, &suffix)) continue;
    const int number = IndexNumber(index);
    auto& [idx, g] = groups[number];
    if (idx.empty()) idx = index;
    if (g.first == nullptr) g.first = &e;
    if (g.misnumbered == nullptr && (number < 0 || idx != index)) {
      g.misnumbered = &e;
    }
    if (suffix == kLabel) g.label = &e;
    if (suffix == kSerial) g.serial = &e;
    if (suffix == kMembers) g.members = &e;
    if (suffix == kStandby) g.standby = &e;
  }
  return groups;
}

absl::Status CheckGroupLabel(const ConfigDocument& doc, absl::string_view index,
                             const GroupEntries& g) {
  if (g.misnumbered != nullptr) {
    return ConfigEntryError(
        doc, *g.misnumbered,
        IndexNumber(index) < 0
            ? absl::StrCat("group numbers run from 00 to ", kMaxGroupIndex,
                           "; renumber this group")
            : absl::StrCat("this key numbers its group another way than ",
                           g.first->key, "; write the number one way (",
                           absl::StrFormat("%02d", IndexNumber(index)), ")"));
  }
  if (g.label == nullptr) {
    return ConfigEntryError(
        doc, *g.first,
        absl::StrCat("there is no ", Key(index, kLabel),
                     " for this entry; add it or remove this line"));
  }
  absl::Status label = ValidateHaLabel(g.label->value);
  if (!label.ok()) return ConfigEntryError(doc, *g.label, label.message());
  return absl::OkStatus();
}

absl::Status ParseList(const ConfigDocument& doc, const ConfigEntry& e,
                       const std::vector<std::string>& servers, bool standby,
                       std::vector<HaMemberConfig>* out) {
  if (standby && absl::StripAsciiWhitespace(e.value).empty()) {
    return absl::OkStatus();  // "Standby = ;" lists nobody
  }
  for (absl::string_view item : absl::StrSplit(e.value, ',')) {
    item = absl::StripAsciiWhitespace(item);
    absl::StatusOr<HaMemberConfig> m = ParseMember(item, servers, standby);
    if (!m.ok()) return ConfigEntryError(doc, e, m.status().message());
    for (const HaMemberConfig& other : *out) {
      if (SameMember(other, *m)) {
        return ConfigEntryError(
            doc, e,
            absl::StrCat("member '", m->Text(),
                         "' is listed twice in this group; remove one"));
      }
    }
    out->push_back(*std::move(m));
  }
  return absl::OkStatus();
}

absl::Status ValidateHaOption(const ConfigDocument& doc, const ConfigEntry& e) {
  bool flag = false;
  if (e.key == kHaOnly) {
    if (!ParseConfigFlag(e.value, &flag)) {
      return ConfigEntryError(
          doc, e, "use 0 or 1 (1 shows only the groups' virtual slots)");
    }
  } else if (e.key == kInterval) {
    return ValidateInt(doc, e, 1, kMaxAutoReconnectIntervalSeconds,
                       absl::StrCat("the interval is in seconds, from 1 to ",
                                    kMaxAutoReconnectIntervalSeconds));
  } else if (e.key == kAttempts) {
    return ValidateInt(
        doc, e, -1, kMaxReconnectAttempts,
        absl::StrCat("give -1 (retry for ever), 0 (never) or a count up to ",
                     kMaxReconnectAttempts));
  }
  return absl::OkStatus();
}

std::string DerivedSerial(absl::string_view label) {
  uint64_t h = 1469598103934665603ull;
  for (char c : absl::AsciiStrToLower(label)) {
    h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  }
  return absl::StrFormat("1%011u", h % 100000000000ull);
}

std::vector<std::string> ConfiguredServers(const ClientConfig& config) {
  std::vector<std::string> names;
  absl::StatusOr<std::vector<ServerConfig>> servers = config.Servers();
  if (servers.ok()) {
    for (const ServerConfig& s : *servers) names.push_back(s.name);
  }
  return names;
}

}  // namespace config_ha_internal

std::string HaMemberConfig::Text() const {
  if (!serial.empty()) return serial;
  return absl::StrCat(server, "/", partition);
}

}  // namespace trustlink::ntl
