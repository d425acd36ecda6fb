#ifndef TRUSTLINK_NTL_CLIENT_ROOT_LOADER_H_
#define TRUSTLINK_NTL_CLIENT_ROOT_LOADER_H_

// LoadClientSettings builds ClientSettings from a client root: trustlink.conf
// (servers, TCPKeepAlive, ConnectTimeout, ReceiveTimeout, the identity's file
// names), the client's certificate and key (the key refused when group/world
// readable), and the trust store's pinned certificates
// (cert/server/<name>Cert.pem agreeing with CAFile.pem). A configured server
// without a pinned certificate is kept with an empty pin, so the client reports
// it and never contacts it. The HA groups (VirtualToken) and HAConfiguration
// fill ha_groups and ha (config_ha.h).

#include <string>

#include "absl/status/statusor.h"
#include "ntl/client/settings.h"

namespace trustlink::ntl::client {

absl::StatusOr<ClientSettings> LoadClientSettings(const std::string& root_path);

}  // namespace trustlink::ntl::client

#endif  // TRUSTLINK_NTL_CLIENT_ROOT_LOADER_H_
