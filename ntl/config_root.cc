#include "ntl/config_root.h"

#include <cstdlib>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ntl/status.h"

namespace trustlink::ntl {
namespace {

using internal::FileLock;
using internal::SafeDir;

constexpr absl::string_view kRootLock = ".trustlink.lock";
constexpr size_t kMaxConfigSize = 1 << 20;

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone());
}

}  // namespace

std::string DefaultClientRoot() {
  const char* env = std::getenv(std::string(kClientRootEnv).c_str());
  if (env != nullptr && env[0] != '\0') return env;
  return std::string(kDefaultClientRoot);
}

bool VerifyResult::ok() const {
  for (const Check& c : checks) {
    if (c.level == Check::kError) return false;
  }
  for (const ServerStatus& s : servers) {
    if (!s.local.ok() || (s.probed && !s.probe.ok())) return false;
  }
  return true;
}

absl::StatusOr<ClientRoot> ClientRoot::Open(const std::string& path,
                                            bool create) {
  absl::StatusOr<SafeDir> root = SafeDir::Open(path, create, 0755);
  if (!root.ok()) {
    if (root.status().code() == absl::StatusCode::kNotFound) {
      return Error(
          absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
          absl::StrCat(
              "client root ", path,
              " does not exist; open it with create set (the client identity "
              "is made there), or give the path of an existing root "
              "(or set TRUSTLINK_CLIENT_ROOT)"));
    }
    return root.status();
  }
  return ClientRoot(*std::move(root));
}

absl::StatusOr<TrustStore> ClientRoot::OpenTrustStore(bool create) const {
  return TrustStore::Open(root_, create);
}

absl::StatusOr<ClientConfig> ClientRoot::LoadConfig() const {
  absl::StatusOr<std::string> text =
      root_.ReadFile(kConfigFileName, kMaxConfigSize);
  if (text.status().code() == absl::StatusCode::kNotFound)
    return ClientConfig::Default();
  if (!text.ok()) return text.status();
  return ClientConfig::Parse(*text, root_.PathOf(kConfigFileName));
}

absl::Status ClientRoot::WriteConfig(const ClientConfig& config) const {
  return root_.WriteFileAtomic(kConfigFileName, config.Serialize(), 0644);
}

absl::StatusOr<std::pair<SafeDir, std::string>> ClientRoot::ResolveFile(
    const std::string& configured) const {
  std::string full =
      absl::StartsWith(configured, "/") ? configured : root_.PathOf(configured);
  size_t slash = full.find_last_of('/');
  std::string dir = slash == 0 ? "/" : full.substr(0, slash);
  std::string file = full.substr(slash + 1);
  absl::StatusOr<SafeDir> opened = SafeDir::Open(dir, false);
  if (!opened.ok()) return opened.status();
  return std::make_pair(*std::move(opened), file);
}

absl::StatusOr<CreateCertResult> ClientRoot::CreateCert(
    absl::string_view name, const IdentityOptions& options, bool force) {
  absl::StatusOr<CanonicalName> canonical = CanonicalizeName(name);
  if (!canonical.ok()) return canonical.status();
  absl::StatusOr<FileLock> lock = root_.Lock(kRootLock);
  if (!lock.ok()) return lock.status();
  absl::StatusOr<ClientConfig> config = LoadConfig();
  if (!config.ok()) return config.status();
  absl::StatusOr<SafeDir> cert_dir = root_.OpenSubdir("cert", true, 0755);
  if (!cert_dir.ok()) return cert_dir.status();
  absl::StatusOr<SafeDir> client_dir =
      cert_dir->OpenSubdir("client", true, 0755);
  if (!client_dir.ok()) return client_dir.status();
  absl::StatusOr<ntl::Identity> identity = CreateIdentity(*canonical, options);
  if (!identity.ok()) return identity.status();
  std::string cert_name = absl::StrCat(canonical->canonical, ".pem");
  std::string key_name = absl::StrCat(canonical->canonical, "Key.pem");
  absl::Status status =
      WriteIdentity(*client_dir, cert_name, key_name, *identity, force);
  if (!status.ok()) return status;
  config->Set("ClientCertFile", absl::StrCat("cert/client/", cert_name));
  config->Set("ClientPrivKeyFile", absl::StrCat("cert/client/", key_name));
  status = WriteConfig(*config);
  if (!status.ok()) return status;
  CreateCertResult result;
  result.name = canonical->canonical;
  result.cert_path = client_dir->PathOf(cert_name);
  result.key_path = client_dir->PathOf(key_name);
  result.fingerprint = identity->cert.Sha256Fingerprint();
  result.key_type = identity->cert.KeyTypeDescription();
  result.not_after = identity->cert.NotAfter();
  result.warnings = canonical->warnings;
  return result;
}

absl::StatusOr<AddResult> ClientRoot::AddServer(absl::string_view name,
                                                absl::string_view pem, int port,
                                                bool htl, bool replace) {
  absl::StatusOr<FileLock> lock = root_.Lock(kRootLock);
  if (!lock.ok()) return lock.status();
  absl::StatusOr<ClientConfig> config = LoadConfig();
  if (!config.ok()) return config.status();
  // Check the config change first, so a bad port leaves the trust store
  // untouched.
  ServerConfig server{std::string(name), port, htl, ""};
  ClientConfig updated = *config;
  absl::StatusOr<ServerConfig> stored = updated.AddServer(server);
  if (!stored.ok()) return stored.status();
  absl::StatusOr<TrustStore> store = TrustStore::Open(root_, true);
  if (!store.ok()) return store.status();
  absl::StatusOr<AddResult> added = store->Add(name, pem, replace);
  if (!added.ok()) return added.status();
  absl::Status status = WriteConfig(updated);
  if (!status.ok()) {
    return Error(absl::StatusCode::kInternal, ToTlStatus(status),
                 absl::StrCat("the certificate for '", added->server.name,
                              "' was registered, but ", ConfigPath(),
                              " could not be written (", status.message(),
                              "); fix that and run vtl addServer again"));
  }
  return added;
}

absl::Status ClientRoot::DeleteServer(absl::string_view name) {
  absl::StatusOr<CanonicalName> canonical = CanonicalizeNameWithHost(name, "");
  if (!canonical.ok()) return canonical.status();
  absl::StatusOr<FileLock> lock = root_.Lock(kRootLock);
  if (!lock.ok()) return lock.status();
  absl::StatusOr<ClientConfig> config = LoadConfig();
  if (!config.ok()) return config.status();
  absl::Status in_config = config->RemoveServer(canonical->canonical);
  if (!in_config.ok() && in_config.code() != absl::StatusCode::kNotFound)
    return in_config;
  if (in_config.ok()) {
    absl::Status written = WriteConfig(*config);
    if (!written.ok()) return written;
  }
  absl::StatusOr<TrustStore> store = TrustStore::Open(root_, true);
  if (!store.ok()) return store.status();
  absl::StatusOr<std::string> removed = store->Remove(canonical->canonical);
  if (!removed.ok() && removed.status().code() != absl::StatusCode::kNotFound) {
    return removed.status();
  }
  if (!in_config.ok() && !removed.ok()) {
    return Error(
        absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
        absl::StrCat(
            "server '", canonical->canonical,
            "' is not registered; vtl listServers shows the registered "
            "servers"));
  }
  return absl::OkStatus();
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
          absl::StrCat("server '", s.name, "' is in ", ConfigPath(),
                       " but has no trusted certificate; run vtl addServer -n ",
                       s.name, " -c <server.pem>"));
    } else if (!s.in_config) {
      s.local = Error(
          absl::StatusCode::kFailedPrecondition, TL_E_CONFIG_INVALID,
          absl::StrCat("certificate for '", s.name, "' is registered but ",
                       s.name, " is not in ", ConfigPath(),
                       "; run vtl addServer again, or vtl deleteServer -n ",
                       s.name));
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

absl::StatusOr<IdentityInfo> ClientRoot::Identity() const {
  absl::StatusOr<ClientConfig> config = LoadConfig();
  if (!config.ok()) return config.status();
  IdentityInfo info;
  std::string cert = config->Get("ClientCertFile");
  std::string key = config->Get("ClientPrivKeyFile");
  if (cert.empty() || key.empty()) return info;
  info.configured = true;
  info.cert_path = absl::StartsWith(cert, "/") ? cert : root_.PathOf(cert);
  info.key_path = absl::StartsWith(key, "/") ? key : root_.PathOf(key);
  auto cert_file = ResolveFile(cert);
  if (!cert_file.ok()) return cert_file.status();
  absl::StatusOr<std::string> pem =
      cert_file->first.ReadFile(cert_file->second, kMaxPemFileSize);
  if (!pem.ok()) return pem.status();
  absl::StatusOr<Certificate> parsed =
      Certificate::ParsePem(*pem, info.cert_path);
  if (!parsed.ok()) return parsed.status();
  info.name = parsed->CommonName();
  info.fingerprint = parsed->Sha256Fingerprint();
  info.key_type = parsed->KeyTypeDescription();
  info.not_after = parsed->NotAfter();
  return info;
}

absl::StatusOr<std::vector<std::string>> ClientRoot::ImportChrystoki(
    absl::string_view text, absl::string_view file_name) {
  absl::StatusOr<FileLock> lock = root_.Lock(kRootLock);
  if (!lock.ok()) return lock.status();
  absl::StatusOr<ClientConfig> config = LoadConfig();
  if (!config.ok()) return config.status();
  absl::StatusOr<std::vector<std::string>> report =
      config->ImportChrystoki(text, file_name);
  if (!report.ok()) return report.status();
  absl::Status status = WriteConfig(*config);
  if (!status.ok()) return status;
  return report;
}

absl::StatusOr<VerifyResult> ClientRoot::Verify(const VerifyOptions& options) {
  VerifyResult result;
  auto add = [&](Check::Level level, absl::string_view object,
                 absl::string_view message) {
    result.checks.push_back(
        Check{level, std::string(object), std::string(message)});
  };
  if (options.repair) {
    absl::StatusOr<FileLock> lock = root_.Lock(kRootLock);
    if (!lock.ok()) return lock.status();
    absl::StatusOr<TrustStore> store = TrustStore::Open(root_, true);
    if (!store.ok()) return store.status();
    absl::StatusOr<std::vector<std::string>> repairs = store->Repair();
    if (!repairs.ok()) return repairs.status();
    result.repairs = *std::move(repairs);
  }
  absl::StatusOr<ClientConfig> config = LoadConfig();
  if (!config.ok()) {
    add(Check::kError, "trustlink.conf", config.status().message());
    return result;
  }
  absl::StatusOr<bool> has_config = root_.Exists(kConfigFileName);
  if (has_config.ok() && !*has_config) {
    add(Check::kWarning, "trustlink.conf",
        absl::StrCat(ConfigPath(),
                     " does not exist yet; vtl createCert and vtl addServer "
                     "make it"));
  } else {
    add(Check::kOk, "trustlink.conf", absl::StrCat(ConfigPath(), " parses"));
  }

  // The client identity.
  std::string cert = config->Get("ClientCertFile");
  std::string key = config->Get("ClientPrivKeyFile");
  if (cert.empty() || key.empty()) {
    add(Check::kError, "client certificate",
        "no client identity is configured; run vtl createCert -n <this host's "
        "name>");
  } else {
    auto cert_file = ResolveFile(cert);
    auto key_file = ResolveFile(key);
    absl::Status problem =
        cert_file.ok() ? key_file.status() : cert_file.status();
    absl::StatusOr<ntl::Identity> identity = absl::UnknownError("not loaded");
    if (!problem.ok()) {
      identity = problem;
    } else {
      if (cert_file->first.path() == key_file->first.path()) {
        identity =
            LoadIdentity(cert_file->first, cert_file->second, key_file->second);
      } else {
        // Different directories: check the key's permissions there, then load
        // the pair.
        absl::StatusOr<std::string> key_pem =
            key_file->first.ReadPrivateFile(key_file->second, kMaxPemFileSize);
        absl::StatusOr<std::string> cert_pem =
            cert_file->first.ReadFile(cert_file->second, kMaxPemFileSize);
        if (!key_pem.ok()) {
          identity = key_pem.status();
        } else if (!cert_pem.ok()) {
          identity = cert_pem.status();
        } else {
          absl::StatusOr<Certificate> c =
              Certificate::ParsePem(*cert_pem, cert);
          absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> k =
              ParsePrivateKeyPem(*key_pem, key);
          if (!c.ok()) {
            identity = c.status();
          } else if (!k.ok()) {
            identity = k.status();
          } else if (!KeyMatchesCertificate(k->get(), *c)) {
            identity =
                Error(absl::StatusCode::kFailedPrecondition, TL_E_CERT_INVALID,
                      absl::StrCat("private key ", key, " does not belong to ",
                                   cert, "; run vtl createCert -force"));
          } else {
            identity = ntl::Identity{*std::move(k), *std::move(c)};
          }
        }
      }
    }
    if (!identity.ok()) {
      add(Check::kError, "client certificate", identity.status().message());
    } else if (identity->cert.IsExpired(absl::Now())) {
      add(Check::kError, "client certificate",
          absl::StrCat(
              "client certificate expired on ",
              TimeText(identity->cert.NotAfter()),
              "; run vtl createCert -force and register the new certificate on "
              "each appliance"));
    } else {
      std::string text = absl::StrCat(
          "client certificate for '", identity->cert.CommonName(), "' (",
          identity->cert.KeyTypeDescription(), ") is valid until ",
          TimeText(identity->cert.NotAfter()), "; key permissions are 0600");
      bool soon =
          identity->cert.NotAfter() < absl::Now() + absl::Hours(24 * 30);
      add(soon ? Check::kWarning : Check::kOk, "client certificate",
          soon ? absl::StrCat(text,
                              "; it expires within 30 days, renew it with vtl "
                              "createCert -force")
               : text);
    }
  }

  // The trust store and the server list.
  absl::StatusOr<TrustStore> store = TrustStore::Open(root_, false);
  if (!store.ok() && store.status().code() != absl::StatusCode::kNotFound) {
    add(Check::kError, "trust store", store.status().message());
    return result;
  }
  absl::StatusOr<VerifyReport> report =
      store.ok() ? store->Verify() : VerifyReport();
  if (!report.ok()) {
    add(Check::kError, "trust store", report.status().message());
    return result;
  }
  if (!report->cafile_error.empty())
    add(Check::kError, "CAFile.pem", report->cafile_error);
  for (const VerifyEntry& e : report->entries) {
    // Problems with a server name are reported on that server (ListServers); a
    // stray CAFile.pem entry has none.
    if (e.state == EntryState::kOnlyInCAFile)
      add(Check::kError, e.file_name, e.message);
  }
  absl::StatusOr<std::vector<ServerStatus>> servers = ListServers();
  if (!servers.ok()) {
    add(Check::kError, "servers", servers.status().message());
    return result;
  }
  result.servers = *std::move(servers);
  if (result.servers.empty()) {
    add(Check::kWarning, "servers",
        "no server is registered; run vtl addServer");
  }
  if (options.probe && store.ok()) {
    absl::StatusOr<std::vector<ServerCert>> pinned = store->LoadPinned();
    for (ServerStatus& s : result.servers) {
      if (!s.local.ok() || !pinned.ok()) continue;
      for (const ServerCert& c : *pinned) {
        if (c.name != s.name) continue;
        s.probed = true;
        s.probe = options.probe(s, c);
      }
    }
  }
  return result;
}

}  // namespace trustlink::ntl
