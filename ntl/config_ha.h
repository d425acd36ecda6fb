#ifndef TRUSTLINK_NTL_CONFIG_HA_H_
#define TRUSTLINK_NTL_CONFIG_HA_H_

// HA groups in trustlink.conf, with the keys Luna admins know from
// Chrystoki.conf (docs/ha.md, "Configuration"):
//
//   VirtualToken = {
//      VirtualToken00Label = payments;           # the group's label
//      VirtualToken00SN = 1234567890123;         # the virtual slot's serial
//      VirtualToken00Members = hsm1/pA,hsm2/pA;  # active members
//      VirtualToken00Standby = hsm3/pA;          # standby members
//   }
//   HAConfiguration = {
//      AutoReconnectInterval = 60;  # seconds before a lost member is probed
//      HAOnly = 1;                  # show only the virtual slots
//      reconnAtt = -1;              # probes before giving up; -1: for ever
//   }
//
// A member is `<server>/<partition>`: a server listed as ServerNameNN and a
// partition name; or a partition serial number as Luna writes it (imported
// configs), matched against the serials the servers report. Groups are
// numbered from 00 without gaps: deleting one renumbers the ones after it, as
// RemoveServer does for servers. Keys of these sections that trustlink does
// not know (haLogStatus, VirtualTokenActiveRecovery, ...) are kept as they
// are and ignored.
//
// ClientConfig::Validate runs ValidateHa, so a config with a bad group never
// loads and is never written.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ntl/config_client.h"
#include "ntl/config_document.h"

namespace trustlink::ntl {

inline constexpr absl::string_view kVirtualTokenSection = "VirtualToken";
inline constexpr absl::string_view kHaConfigurationSection = "HAConfiguration";
inline constexpr int kDefaultAutoReconnectIntervalSeconds = 60;
inline constexpr int kMaxAutoReconnectIntervalSeconds = 86400;
inline constexpr int kDefaultReconnectAttempts = -1;
inline constexpr int kMaxReconnectAttempts = 1000000;

// HaMemberConfig is one member of a group: `server` and `partition`, or
// `serial` alone.
struct HaMemberConfig {
  std::string server;  // canonical name of a configured server
  std::string partition;
  std::string serial;
  bool standby = false;
  // Text returns the member as trustlink.conf writes it: "hsm1/partA" or
  // "1234567".
  std::string Text() const;
};

// HaGroupConfig is one VirtualTokenNN group.
struct HaGroupConfig {
  std::string index;  // "00", "01", ...
  std::string label;
  std::string serial;
  // Active members first, then standby members, each in config order.
  std::vector<HaMemberConfig> members;
};

// HaOptions is the HAConfiguration section.
struct HaOptions {
  bool ha_only = false;
  int auto_reconnect_interval_seconds = kDefaultAutoReconnectIntervalSeconds;
  int reconnect_attempts = kDefaultReconnectAttempts;
};

// ValidateHaLabel accepts a group label: 1-32 letters, digits or "_.-", not
// starting with '.' or '-' (it becomes a PKCS#11 token label and a word in
// the bridge's configuration, so it obeys the partition name rule).
absl::Status ValidateHaLabel(absl::string_view label);

// MakeHaMember checks and builds a member from its parts: `server` (a name
// in `config`'s server list) with `partition`, or `serial` alone (server and
// partition empty). The error names the part that is wrong and the fix.
absl::StatusOr<HaMemberConfig> MakeHaMember(const ClientConfig& config,
                                            absl::string_view server,
                                            absl::string_view partition,
                                            absl::string_view serial,
                                            bool standby);

// ValidateHa checks the VirtualToken and HAConfiguration sections of `doc`
// against `servers` (the canonical names of the configured servers). Errors
// carry TL_E_CONFIG_INVALID and "<file>:<line>:<column>".
absl::Status ValidateHa(const ConfigDocument& doc,
                        const std::vector<std::string>& servers);

// HaGroups returns the groups in index order (an error if the config does
// not validate).
absl::StatusOr<std::vector<HaGroupConfig>> HaGroups(const ClientConfig& config);
// FindHaGroup returns the group labelled `label` (compared without regard to
// case), or NOT_FOUND naming the fix.
absl::StatusOr<HaGroupConfig> FindHaGroup(const ClientConfig& config,
                                          absl::string_view label);
// GetHaOptions returns the HAConfiguration values (defaults where absent).
HaOptions GetHaOptions(const ClientConfig& config);

// HaGroupsUsingServer returns the labels of the groups with a member on the
// server `name` (compared as SameName).
std::vector<std::string> HaGroupsUsingServer(const ClientConfig& config,
                                             absl::string_view name);

// CreateHaGroup adds a group labelled `label` with `first` as its first
// member (which must be active). `serial` empty picks one derived from the
// label. ALREADY_EXISTS if the label is taken.
absl::StatusOr<HaGroupConfig> CreateHaGroup(ClientConfig* config,
                                            absl::string_view label,
                                            absl::string_view serial,
                                            const HaMemberConfig& first);
// AddHaMember adds `member` to the group, as active or standby per
// member.standby. A member already in the group with the other role changes
// role (as Luna's addStandby does); ALREADY_EXISTS if it has that role.
absl::Status AddHaMember(ClientConfig* config, absl::string_view label,
                         const HaMemberConfig& member);
// RemoveHaMember removes `member` (its standby flag is ignored) from the
// group. The last active member is refused: delete the group instead.
absl::Status RemoveHaMember(ClientConfig* config, absl::string_view label,
                            const HaMemberConfig& member);
// DeleteHaGroup removes the group and renumbers the ones after it.
absl::Status DeleteHaGroup(ClientConfig* config, absl::string_view label);
// SetHaOnly writes HAOnly.
void SetHaOnly(ClientConfig* config, bool ha_only);
// SetHaReconnectInterval writes AutoReconnectInterval (seconds, 1 to
// kMaxAutoReconnectIntervalSeconds); SetHaReconnectAttempts writes reconnAtt
// (-1: for ever, 0: never, or up to kMaxReconnectAttempts). Out of range is
// TL_E_OUT_OF_RANGE, with the range, and changes nothing.
absl::Status SetHaReconnectInterval(ClientConfig* config, int seconds);
absl::Status SetHaReconnectAttempts(ClientConfig* config, int attempts);

// ImportChrystokiHa carries the VirtualToken groups and the HAConfiguration
// values of a Chrystoki.conf (`source`) into `config`; members stay serials.
// A group whose label is already configured is kept as it is. Appends one
// line per thing imported or skipped to `report`.
absl::Status ImportChrystokiHa(const ConfigDocument& source,
                               ClientConfig* config,
                               std::vector<std::string>* report);

}  // namespace trustlink::ntl

#endif  // TRUSTLINK_NTL_CONFIG_HA_H_
