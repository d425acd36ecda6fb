#ifndef TRUSTLINK_NTL_CONFIG_ROOT_HA_H_
#define TRUSTLINK_NTL_CONFIG_ROOT_HA_H_

// The HA part of ClientRoot::Verify: one check per member of each HA group
// (config_ha.h), saying whether its server is configured and trusted. Whether
// the server lists the member's partition needs a connection; vtl verify
// checks that against the link results.

#include <vector>

#include "ntl/config_client.h"
#include "ntl/config_root.h"

namespace trustlink::ntl {

// VerifyHaMembers returns a check per member, object "HA group <label>", on
// `servers` as ListServers returned them. A member named by serial cannot be
// placed without a connection: its check is OK and says so.
std::vector<Check> VerifyHaMembers(const ClientConfig& config,
                                   const std::vector<ServerStatus>& servers);

}  // namespace trustlink::ntl

#endif  // TRUSTLINK_NTL_CONFIG_ROOT_HA_H_
