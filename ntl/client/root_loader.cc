#include "ntl/client/root_loader.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ntl/config_root.h"
#include "ntl/identity.h"
#include "ntl/internal/safe_dir.h"
#include "ntl/names.h"
#include "ntl/status.h"
#include "ntl/trust_store.h"

namespace trustlink::ntl::client {
namespace {

// ReadAt reads the file at `path` through a SafeDir on its directory, so a
// symlinked final component is refused like everywhere else in the root.
absl::StatusOr<std::string> ReadAt(const std::string& path, bool is_private) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos
                              ? "."
                              : path.substr(0, std::max<size_t>(slash, 1));
  const std::string name =
      slash == std::string::npos ? path : path.substr(slash + 1);
  absl::StatusOr<internal::SafeDir> d = internal::SafeDir::Open(dir, false);
  if (!d.ok()) {
    return d.status();
  }
  return is_private ? d->ReadPrivateFile(name, kMaxPemFileSize)
                    : d->ReadFile(name, kMaxPemFileSize);
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
                     "; run vtl createCert -n <this host's name>"));
  }
  ClientSettings settings;
  settings.slot_numbers_dir = root->path();
  absl::StatusOr<std::string> cert = ReadAt(identity->cert_path, false);
  if (!cert.ok()) {
    return cert.status();
  }
  absl::StatusOr<std::string> key = ReadAt(identity->key_path, true);
  if (!key.ok()) {
    return key.status();
  }
  settings.client_cert_pem = *std::move(cert);
  settings.client_key_pem = *std::move(key);
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
      s.trust_error =
          absl::StrCat("server cert for '", sc.name,
                       "' is not in CAFile.pem; it is never contacted; run vtl "
                       "addServer again");
    }
    settings.servers.push_back(std::move(s));
  }
  return settings;
}

}  // namespace trustlink::ntl::client
