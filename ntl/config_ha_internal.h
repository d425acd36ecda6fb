#ifndef TRUSTLINK_NTL_CONFIG_HA_INTERNAL_H_
#define TRUSTLINK_NTL_CONFIG_HA_INTERNAL_H_

// What the files implementing config_ha.h share and nobody else needs: the
// key names of the VirtualToken and HAConfiguration sections, how a member
// and a member list are read (config_ha_parse.cc) and how a group's members
// are written back (config_ha_edit.cc). It lives here rather than in
// config_ha.h so the public header stays the API; it is private to the
// //ntl:config_client target.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ntl/config_client.h"
#include "ntl/config_document.h"
#include "ntl/config_ha.h"

namespace trustlink::ntl::config_ha_internal {

inline constexpr absl::string_view kGroupPrefix = "VirtualToken";
inline constexpr absl::string_view kLabel = "Label";
inline constexpr absl::string_view kSerial = "SN";
inline constexpr absl::string_view kMembers = "Members";
inline constexpr absl::string_view kStandby = "Standby";
inline constexpr absl::string_view kHaOnly = "HAOnly";
inline constexpr absl::string_view kInterval = "AutoReconnectInterval";
inline constexpr absl::string_view kAttempts = "reconnAtt";

inline constexpr absl::string_view kMemberSyntax =
    "write <server>/<partition> (a server listed as ServerNameNN and a "
    "partition name) or a partition serial number";

// kMaxGroupIndex bounds the NN of VirtualTokenNN: Luna writes two digits.
inline constexpr int kMaxGroupIndex = 999;

// Key returns the key "VirtualToken<index><suffix>".
std::string Key(absl::string_view index, absl::string_view suffix);

// SplitGroupKey splits any per-group key, "VirtualToken03<Suffix>", known
// suffix or not, so that renumbering carries every key of a group along.
bool SplitGroupKey(absl::string_view key, std::string* index,
                   std::string* suffix);

// IndexNumber is the number of an index ("03" is 3); -1 beyond
// kMaxGroupIndex.
int IndexNumber(absl::string_view index);

// Invalid is an INVALID_ARGUMENT error with TL_E_INVALID_ARGUMENT.
absl::Status Invalid(absl::string_view message);

// ParseMember reads one item of a Members or Standby list. The error
// message has no position: the caller adds the entry's.
absl::StatusOr<HaMemberConfig> ParseMember(
    absl::string_view item, const std::vector<std::string>& servers,
    bool standby);

// SameMember compares by serial when either has one, else by server (as
// SameName) and partition.
bool SameMember(const HaMemberConfig& a, const HaMemberConfig& b);

// GroupEntries are the known entries of one group index.
struct GroupEntries {
  const ConfigEntry* label = nullptr;
  const ConfigEntry* serial = nullptr;
  const ConfigEntry* members = nullptr;
  const ConfigEntry* standby = nullptr;
  const ConfigEntry* first = nullptr;  // any entry, for a group without label
  // misnumbered: an entry whose index is out of range, or spells the group's
  // number another way than its first entry ("0" beside "00").
  const ConfigEntry* misnumbered = nullptr;
};

// CollectGroups gathers the VirtualToken section's entries by group number:
// the index as first spelled, and the group's known entries.
std::map<int, std::pair<std::string, GroupEntries>> CollectGroups(
    const ConfigDocument& doc);

// CheckGroupLabel requires the group's entries to agree on its number, and
// its Label entry with a valid label in it.
absl::Status CheckGroupLabel(const ConfigDocument& doc, absl::string_view index,
                             const GroupEntries& g);

// ParseList reads a Members/Standby entry into `out`, refusing an item listed
// twice in the group.
absl::Status ParseList(const ConfigDocument& doc, const ConfigEntry& e,
                       const std::vector<std::string>& servers, bool standby,
                       std::vector<HaMemberConfig>* out);

// ValidateHaOption checks one HAConfiguration entry (unknown keys pass).
absl::Status ValidateHaOption(const ConfigDocument& doc, const ConfigEntry& e);

// DerivedSerial gives a group without VirtualTokenNNSN a serial that stays
// the same across runs: "1" and 11 digits of the label's FNV-1a hash. (Luna
// writes "1" and the first member's serial; a server/partition member has no
// serial known offline.)
std::string DerivedSerial(absl::string_view label);

// ConfiguredServers returns the canonical names of the configured servers
// (none if the server list does not read).
std::vector<std::string> ConfiguredServers(const ClientConfig& config);

// JoinMembers writes the active (or the standby) members as a Members list.
std::string JoinMembers(const std::vector<HaMemberConfig>& members,
                        bool standby);

// WriteMembers stores the group's member lists; an empty standby list drops
// its key.
void WriteMembers(ClientConfig* config, const HaGroupConfig& group);

// Commit validates the whole config after an edit, so that nothing invalid
// is ever written; on failure the caller's copy is left as it was.
absl::Status Commit(ClientConfig* config, ClientConfig edited);

}  // namespace trustlink::ntl::config_ha_internal

#endif  // TRUSTLINK_NTL_CONFIG_HA_INTERNAL_H_
