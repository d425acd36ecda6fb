#include "ntl/config_ha.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "ntl/names.h"
#include "ntl/registry/model.h"
#include "ntl/status.h"

namespace trustlink::ntl {
namespace {

constexpr absl::string_view kGroupPrefix = "VirtualToken";
constexpr absl::string_view kLabel = "Label";
constexpr absl::string_view kSerial = "SN";
constexpr absl::string_view kMembers = "Members";
constexpr absl::string_view kStandby = "Standby";
constexpr absl::string_view kHaOnly = "HAOnly";
constexpr absl::string_view kInterval = "AutoReconnectInterval";
constexpr absl::string_view kAttempts = "reconnAtt";

constexpr absl::string_view kMemberSyntax =
    "write <server>/<partition> (a server listed as ServerNameNN and a "
    "partition name) or a partition serial number";

std::string Key(absl::string_view index, absl::string_view suffix) {
  return absl::StrCat(kGroupPrefix, index, suffix);
}

// SplitGroupKey splits any per-group key, "VirtualToken03<Suffix>", known
// suffix or not, so that renumbering carries every key of a group along.
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
  return absl::SimpleAtoi(index, &n) ? n : 0;
}

absl::Status Invalid(absl::string_view message) {
  return Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
               message);
}

// ParseMember reads one item of a Members or Standby list. The error
// message has no position: the caller adds the entry's.
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

// GroupEntries are the known entries of one group index.
struct GroupEntries {
  const ConfigEntry* label = nullptr;
  const ConfigEntry* serial = nullptr;
  const ConfigEntry* members = nullptr;
  const ConfigEntry* standby = nullptr;
  const ConfigEntry* first = nullptr;  // any entry, for a group without label
};

std::map<int, std::pair<std::string, GroupEntries>> CollectGroups(
    const ConfigDocument& doc) {
  std::map<int, std::pair<std::string, GroupEntries>> groups;
  const ConfigSection* s = doc.FindSection(kVirtualTokenSection);
  if (s == nullptr) return groups;
  for (const ConfigEntry& e : s->entries) {
    std::string index, suffix;
    if (!SplitGroupKey(e.key, &index, &suffix)) continue;
    auto& [idx, g] = groups[IndexNumber(index)];
    if (idx.empty()) idx = index;
    if (g.first == nullptr) g.first = &e;
    if (suffix == kLabel) g.label = &e;
    if (suffix == kSerial) g.serial = &e;
    if (suffix == kMembers) g.members = &e;
    if (suffix == kStandby) g.standby = &e;
  }
  return groups;
}

// CheckGroupLabel requires the group's Label entry and a valid label in it.
absl::Status CheckGroupLabel(const ConfigDocument& doc, absl::string_view index,
                             const GroupEntries& g) {
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

// ParseList reads a Members/Standby entry into `out`, refusing an item listed
// twice in the group.
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

absl::Status ValidateInt(const ConfigDocument& doc, const ConfigEntry& e,
                         int low, int high, absl::string_view what) {
  int v = 0;
  if (!absl::SimpleAtoi(e.value, &v) || v < low || v > high) {
    return ConfigEntryError(doc, e, what);
  }
  return absl::OkStatus();
}

// ValidateHaOption checks one HAConfiguration entry (unknown keys pass).
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

// DerivedSerial gives a group without VirtualTokenNNSN a serial that stays
// the same across runs: "1" and 11 digits of the label's FNV-1a hash. (Luna
// writes "1" and the first member's serial; a server/partition member has no
// serial known offline.)
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

std::string JoinMembers(const std::vector<HaMemberConfig>& members,
                        bool standby) {
  std::vector<std::string> texts;
  for (const HaMemberConfig& m : members) {
    if (m.standby == standby) texts.push_back(m.Text());
  }
  return absl::StrJoin(texts, ",");
}

// WriteMembers stores the group's member lists; an empty standby list drops
// its key.
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

// Commit validates the whole config after an edit, so that nothing invalid
// is ever written; on failure the caller's copy is left as it was.
absl::Status Commit(ClientConfig* config, ClientConfig edited) {
  absl::Status valid = edited.Validate();
  if (!valid.ok()) return valid;
  *config = std::move(edited);
  return absl::OkStatus();
}

}  // namespace

std::string HaMemberConfig::Text() const {
  if (!serial.empty()) return serial;
  return absl::StrCat(server, "/", partition);
}

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
