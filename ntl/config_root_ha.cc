#include "ntl/config_root_ha.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "ntl/config_ha.h"
#include "ntl/names.h"

namespace trustlink::ntl {

std::vector<Check> VerifyHaMembers(const ClientConfig& config,
                                   const std::vector<ServerStatus>& servers) {
  std::vector<Check> checks;
  absl::StatusOr<std::vector<HaGroupConfig>> groups = HaGroups(config);
  if (!groups.ok()) {
    // trustlink.conf did not load; that check already failed.
    return checks;
  }
  for (const HaGroupConfig& g : *groups) {
    const std::string object = absl::StrCat("HA group ", g.label);
    for (const HaMemberConfig& m : g.members) {
      const std::string who =
          absl::StrCat(m.standby ? "standby member " : "member ", m.Text());
      if (!m.serial.empty()) {
        checks.push_back(
            {Check::kOk, object,
             absl::StrCat(who,
                          ": a partition serial, matched against the "
                          "servers' partitions once the client connects")});
        continue;
      }
      const ServerStatus* server = nullptr;
      for (const ServerStatus& s : servers) {
        if (SameName(s.name, m.server)) server = &s;
      }
      if (server == nullptr || !server->in_config) {
        checks.push_back(
            {Check::kError, object,
             absl::StrCat(who, ": server '", m.server,
                          "' is not configured; register it "
                          "(tl_client_root_add_server) or remove the member")});
      } else if (!server->local.ok()) {
        checks.push_back({Check::kError, object,
                          absl::StrCat(who, ": ", server->local.message())});
      } else {
        checks.push_back(
            {Check::kOk, object,
             absl::StrCat(who, ": server ", m.server,
                          " is configured and its certificate trusted")});
      }
    }
  }
  return checks;
}

}  // namespace trustlink::ntl
