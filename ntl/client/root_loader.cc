#include "ntl/client/root_loader.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ntl/config_ha.h"
#include "ntl/config_root.h"
#include "ntl/identity.h"
#include "ntl/internal/safe_dir.h"
#include "ntl/names.h"
#include "ntl/status.h"
#include "ntl/trust_store.h"

namespace trustlink::ntl::client {
namespace {

// SplitPath returns the directory and file name of `path`.
std::pair<std::string, std::string> SplitPath(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {path.substr(0, std::max<size_t>(slash, 1)), path.substr(slash + 1)};
}

// ReadIdentityFiles reads the certificate and key through one SafeDir on
// their directory when they share it (as in cert/client), so both come from
// one generation of it even if createCert -force swaps in a new one meanwhile
// (identity_dir.h); and through a SafeDir each otherwise. A symlinked final
// component is refused like everywhere else in the root.
absl::Status ReadIdentityFiles(const std::string& cert_path,
                               const std::string& key_path,
                               std::string* cert_pem, std::string* key_pem) {
  auto [cert_dir, cert_name] = SplitPath(cert_path);
  auto [key_dir, key_name] = SplitPath(key_path);
  absl::StatusOr<internal::SafeDir> cd =
      internal::SafeDir::Open(cert_dir, false);
  if (!cd.ok()) return cd.status();
  absl::StatusOr<internal::SafeDir> kd =
      key_dir == cert_dir ? std::move(cd)
                          : internal::SafeDir::Open(key_dir, false);
  if (!kd.ok()) return kd.status();
  const internal::SafeDir& cdir = key_dir == cert_dir ? *kd : *cd;
  absl::StatusOr<std::string> cert = cdir.ReadFile(cert_name, kMaxPemFileSize);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key =
      kd->ReadPrivateFile(key_name, kMaxPemFileSize);
  if (!key.ok()) return key.status();
  *cert_pem = *std::move(cert);
  *key_pem = *std::move(key);
  return absl::OkStatus();
}

// LoadHaSettings copies the HA groups and HAConfiguration. A member's server
// is the canonical name, as in ServerSettings::name, so the client matches
// them by plain comparison.
absl::Status LoadHaSettings(const ClientConfig& config,
                            ClientSettings* settings) {
  absl::StatusOr<std::vector<HaGroupConfig>> groups = HaGroups(config);
  if (!groups.ok()) {
    return groups.status();
  }
  for (const HaGroupConfig& g : *groups) {
    HaGroupSettings group;
    group.label = g.label;
    group.serial = g.serial;
    for (const HaMemberConfig& m : g.members) {
      group.members.push_back({m.server, m.partition, m.serial, m.standby});
    }
    settings->ha_groups.push_back(std::move(group));
  }
  const HaOptions options = GetHaOptions(config);
  settings->ha.ha_only = options.ha_only;
  settings->ha.auto_reconnect_interval =
      absl::Seconds(options.auto_reconnect_interval_seconds);
  settings->ha.reconnect_attempts = options.reconnect_attempts;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ClientSettings> LoadClientSettings(
    const std::string& root_path) {
  absl::StatusOr<ClientRoot> root = ClientRoot::Open(root_path, false);
  if (!root.ok()) {
    return root.status();
  }
  absl::StatusOr<ClientConfig> config = root->LoadConfig();
  if (!config.ok()) {
    return config.status();
  }
  absl::StatusOr<IdentityInfo> identity = root->Identity();
  if (!identity.ok()) {
    return identity.status();
  }
  if (!identity->configured) {
    return Error(
        absl::StatusCode::kFailedPrecondition, TL_E_CONFIG_INVALID,
        absl::StrCat("no client identity is configured in ", root->ConfigPath(),
                     "; create one (tl_client_root_create_cert)"));
  }
  ClientSettings settings;
  settings.slot_numbers_dir = root->path();
  absl::Status read =
      ReadIdentityFiles(identity->cert_path, identity->key_path,
                        &settings.client_cert_pem, &settings.client_key_pem);
  if (!read.ok()) {
    return read;
  }
  settings.tcp_keepalive = config->TcpKeepAlive();
  settings.connect_timeout = absl::Milliseconds(config->ConnectTimeoutMs());
  // ReceiveTimeout bounds how long a link may stay silent: heartbeats go out at
  // a third of it, so a healthy idle link always answers in time.
  settings.heartbeat_timeout = absl::Milliseconds(config->ReceiveTimeoutMs());
  settings.heartbeat_interval = settings.heartbeat_timeout / 3;

  absl::StatusOr<std::vector<ServerConfig>> servers = config->Servers();
  if (!servers.ok()) {
    return servers.status();
  }
  std::vector<ServerCert> pinned;
  absl::StatusOr<TrustStore> store = root->OpenTrustStore(false);
  if (store.ok()) {
    absl::StatusOr<std::vector<ServerCert>> list = store->LoadPinned();
    if (!list.ok()) {
      return list.status();
    }
    pinned = *std::move(list);
  } else if (!absl::IsNotFound(store.status())) {
    return store.status();
  }
  for (const ServerConfig& sc : *servers) {
    ServerSettings s;
    s.name = sc.name;
    s.host = sc.name;
    s.port = static_cast<uint16_t>(sc.port);
    s.htl = sc.htl;
    for (const ServerCert& p : pinned) {
      if (SameName(p.name, sc.name)) {
        s.pinned_cert_der = p.cert.Der();
        break;
      }
    }
    if (s.pinned_cert_der.empty()) {
      s.trust_error = absl::StrCat(
          "server cert for '", sc.name,
          "' is not in CAFile.pem; it is never contacted; register "
          "its certificate again (tl_client_root_add_server)");
    }
    settings.servers.push_back(std::move(s));
  }
  absl::Status ha = LoadHaSettings(*config, &settings);
  if (!ha.ok()) {
    return ha;
  }
  return settings;
}

}  // namespace trustlink::ntl::client
