// ClientRoot's servers (config_root.h): addServer and deleteServer, which
// change the trust store and trustlink.conf in one rename, listServers, which
// reports where the two disagree, and the repair of a config that lost a
// trusted server.

#include <map>

#include "absl/strings/str_cat.h"
#include "ntl/config_root.h"
#include "ntl/config_root_internal.h"
#include "ntl/internal/dir_swap.h"
#include "ntl/status.h"

namespace trustlink::ntl {

using config_root_internal::ConfigJournal;
using internal::DirFile;
using internal::FileLock;

absl::StatusOr<AddResult> ClientRoot::AddServer(absl::string_view name,
                                                absl::string_view pem, int port,
                                                int htl, bool replace) {
  absl::StatusOr<FileLock> lock = LockForUpdate();
  if (!lock.ok()) return lock.status();
  absl::StatusOr<ClientConfig> config = LoadConfig();
  if (!config.ok()) return config.status();
  // Running addServer again for a known server keeps what is not given: a
  // renewed certificate must not move the port or turn HTL off.
  absl::StatusOr<ServerConfig> known = config->FindServer(name);
  if (port == kKeepServerPort) {
    port = known.ok() ? known->port : kDefaultServerPort;
  }
  if (htl == kKeepServerHtl) htl = known.ok() && known->htl ? 1 : 0;
  // Check the config change first, so a bad port leaves the trust store
  // untouched.
  ServerConfig server{std::string(name), port, htl != 0, ""};
  ClientConfig updated = *config;
  absl::StatusOr<ServerConfig> stored = updated.AddServer(server);
  if (!stored.ok()) return stored.status();
  absl::StatusOr<TrustStore> store = TrustStore::Open(root_, true);
  if (!store.ok()) return store.status();
  // The store and trustlink.conf change in one rename: the new config rides in
  // the store's new generation as a journal (kConfigJournal).
  absl::StatusOr<AddResult> added =
      store->Add(name, pem, replace, absl::Now(), ConfigJournal(updated));
  if (!added.ok()) return added.status();
  // An unchanged certificate committed nothing: the config alone changes, in
  // one atomic write.
  absl::Status status = added->unchanged ? WriteConfig(updated)
                                         : FinishJournal("server", updated);
  if (!status.ok()) {
    return Error(absl::StatusCode::kInternal, ToTlStatus(status),
                 absl::StrCat("the certificate for '", added->server.name,
                              "' was registered, but ", ConfigPath(),
                              " could not be written (", status.message(),
                              "); fix that and register the server again "
                              "(tl_client_root_add_server)"));
  }
  return added;
}

absl::Status ClientRoot::DeleteServer(absl::string_view name) {
  absl::StatusOr<CanonicalName> canonical = CanonicalizeNameWithHost(name, "");
  if (!canonical.ok()) return canonical.status();
  absl::StatusOr<FileLock> lock = LockForUpdate();
  if (!lock.ok()) return lock.status();
  absl::StatusOr<ClientConfig> config = LoadConfig();
  if (!config.ok()) return config.status();
  absl::Status in_config = config->RemoveServer(canonical->canonical);
  if (!in_config.ok() && in_config.code() != absl::StatusCode::kNotFound)
    return in_config;
  absl::StatusOr<TrustStore> store = TrustStore::Open(root_, true);
  if (!store.ok()) return store.status();
  // As in AddServer: the store and the config change in one rename.
  absl::StatusOr<std::string> removed = store->Remove(
      canonical->canonical,
      in_config.ok() ? ConfigJournal(*config) : std::vector<DirFile>());
  if (!removed.ok() && removed.status().code() != absl::StatusCode::kNotFound) {
    return removed.status();
  }
  if (in_config.ok()) {
    // Nothing was in the store: the config alone changes, in one write.
    absl::Status written =
        removed.ok() ? FinishJournal("server", *config) : WriteConfig(*config);
    if (!written.ok()) return written;
  }
  // In neither: the store's NOT_FOUND names the server and how to list them.
  if (!in_config.ok() && !removed.ok()) return removed.status();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ClientRoot::RepairConfigLocked()
    const {
  std::vector<std::string> changes;
  absl::StatusOr<TrustStore> store = TrustStore::Open(root_, false);
  if (store.status().code() == absl::StatusCode::kNotFound) return changes;
  if (!store.ok()) return store.status();
  absl::StatusOr<std::vector<ServerCert>> trusted = store->List();
  if (!trusted.ok()) return trusted.status();
  absl::StatusOr<ClientConfig> config = LoadConfig();
  if (!config.ok()) return config.status();
  absl::StatusOr<std::vector<ServerConfig>> listed = config->Servers();
  if (!listed.ok()) return listed.status();
  for (const ServerCert& c : *trusted) {
    bool in_config = false;
    for (const ServerConfig& s : *listed) {
      in_config = in_config || s.name == c.name;
    }
    if (in_config) continue;
    // The certificate was registered by name (an admin's act), and the config
    // entry is what a kill in an older vtl lost: restore it with the
    // defaults rather than drop the certificate.
    absl::StatusOr<ServerConfig> added =
        config->AddServer(ServerConfig{c.name, kDefaultServerPort, false, ""});
    if (!added.ok()) return added.status();
    changes.push_back(absl::StrCat(
        "added server '", c.name, "' to ", ConfigPath(), " (port ",
        kDefaultServerPort,
        ", HTL off): its certificate was trusted but the server was not "
        "listed. Register it again with its port or HTL "
        "(tl_client_root_add_server) to change that, or delete it "
        "(tl_client_root_delete_server)"));
  }
  if (changes.empty()) return changes;
  absl::Status status = WriteConfig(*config);
  if (!status.ok()) return status;
  return changes;
}

absl::StatusOr<std::vector<ServerStatus>> ClientRoot::ListServers() const {
  absl::StatusOr<ClientConfig> config = LoadConfig();
  if (!config.ok()) return config.status();
  absl::StatusOr<std::vector<ServerConfig>> configured = config->Servers();
  if (!configured.ok()) return configured.status();
  absl::StatusOr<TrustStore> store = TrustStore::Open(root_, false);
  absl::StatusOr<std::vector<ServerCert>> trusted = std::vector<ServerCert>();
  absl::StatusOr<VerifyReport> report = VerifyReport();
  if (store.ok()) {
    trusted = store->List();
    if (!trusted.ok()) return trusted.status();
    report = store->Verify();
    if (!report.ok()) return report.status();
  } else if (store.status().code() != absl::StatusCode::kNotFound) {
    return store
        .status();  // A missing cert/ is an empty store; anything else is not.
  }

  std::map<std::string, ServerCert> by_name;
  for (const ServerCert& c : *trusted) by_name.emplace(c.name, c);
  std::map<std::string, const VerifyEntry*> problems;
  for (const VerifyEntry& e : report->entries) {
    if (!e.name.empty() && e.state != EntryState::kOk) problems[e.name] = &e;
  }
  std::vector<ServerStatus> out;
  auto fill = [&](ServerStatus& s) {
    auto it = by_name.find(s.name);
    if (it != by_name.end()) {
      s.trusted = true;
      s.fingerprint = it->second.fingerprint;
      s.not_after = it->second.cert.NotAfter();
    }
    auto p = problems.find(s.name);
    if (p != problems.end()) {
      s.local = Error(absl::StatusCode::kFailedPrecondition,
                      p->second->state == EntryState::kExpired
                          ? TL_E_CERT_EXPIRED
                          : TL_E_TRUST_STORE_INCONSISTENT,
                      p->second->message);
    } else if (!s.trusted) {
      s.local = Error(
          absl::StatusCode::kFailedPrecondition, TL_E_TRUST_STORE_INCONSISTENT,
          absl::StrCat(
              "server '", s.name, "' is in ", ConfigPath(),
              " but has no trusted certificate; register its certificate "
              "(tl_client_root_add_server)"));
    } else if (!s.in_config) {
      s.local = Error(
          absl::StatusCode::kFailedPrecondition, TL_E_CONFIG_INVALID,
          absl::StrCat("certificate for '", s.name, "' is registered but ",
                       s.name, " is not in ", ConfigPath(),
                       "; register it again (tl_client_root_add_server), or "
                       "delete it (tl_client_root_delete_server)"));
    }
  };
  for (const ServerConfig& c : *configured) {
    ServerStatus s;
    s.name = c.name;
    s.port = c.port;
    s.htl = c.htl;
    s.in_config = true;
    fill(s);
    out.push_back(std::move(s));
  }
  // Servers known only to the trust store: trusted ones, and named files with a
  // problem.
  std::vector<std::string> extra;
  for (const ServerCert& c : *trusted) extra.push_back(c.name);
  for (const auto& [name, entry] : problems) extra.push_back(name);
  for (const std::string& name : extra) {
    bool listed = false;
    for (const ServerStatus& o : out) listed = listed || o.name == name;
    if (listed) continue;
    ServerStatus s;
    s.name = name;
    fill(s);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace trustlink::ntl
