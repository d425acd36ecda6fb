#include "ntl/registry/snapshot.h"

#include <algorithm>

namespace trustlink::ntl::registry {

bool RegistrySnapshot::ClientAllowsSourceIp(const ClientRecord& client,
                                            absl::string_view canonical_ip) {
  if (client.name_kind != NameKind::kHostname && client.name == canonical_ip) {
    return true;
  }
  return std::find(client.host_ips.begin(), client.host_ips.end(),
                   canonical_ip) != client.host_ips.end();
}

std::vector<const Partition*> RegistrySnapshot::ClientPartitions(
    const ClientRecord& client) const {
  std::vector<const Partition*> out;
  for (const std::string& name : client.partitions) {
    if (const Partition* p = state_.FindPartition(name); p != nullptr) {
      out.push_back(p);
    }
  }
  return out;
}

}  // namespace trustlink::ntl::registry
