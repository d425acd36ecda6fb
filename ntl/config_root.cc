#include "ntl/config_root.h"

#include <cstdlib>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ntl/config_root_ha.h"
#include "ntl/identity_dir.h"
#include "ntl/internal/dir_swap.h"
#include "ntl/status.h"

namespace trustlink::ntl {
namespace {

using internal::DirFile;
using internal::FileLock;
using internal::SafeDir;

constexpr absl::string_view kRootLock = ".trustlink.lock";
constexpr size_t kMaxConfigSize = 1 << 20;
// kConfigJournal is the trustlink.conf an update of cert/client or cert/server
// implies, committed inside that directory's new generation by the same
// rename (ntl/internal/dir_swap.h). Whoever next holds the root lock writes it
// to trustlink.conf and removes it, so the directory and the config change
// together even if the writer is killed between the two.
constexpr absl::string_view kConfigJournal = ".journal.trustlink.conf";
// kGenerationDirs are the subdirectories of cert/ replaced as generations.
constexpr absl::string_view kGenerationDirs[] = {"client", "server"};

std::vector<DirFile> ConfigJournal(const ClientConfig& config) {
  return {DirFile{std::string(kConfigJournal), config.Serialize(), 0644}};
}

// NeedsRecovery reports whether a kill left something under cert/ for
// RecoverLocked: a generation not swapped in or not removed, or a journal not
// yet rolled forward.
bool NeedsRecovery(const SafeDir& root) {
  absl::StatusOr<SafeDir> cert = root.OpenSubdir("cert", false);
  if (!cert.ok()) return false;
  for (absl::string_view sub : kGenerationDirs) {
    for (const std::string& leftover :
         {absl::StrCat(".", sub, ".next"), absl::StrCat(".", sub, ".prev")}) {
      absl::StatusOr<bool> e = cert->Exists(leftover);
      if (e.ok() && *e) return true;
    }
    absl::StatusOr<SafeDir> dir = cert->OpenSubdir(sub, false);
    if (!dir.ok()) continue;
    absl::StatusOr<bool> e = dir->Exists(kConfigJournal);
    if (e.ok() && *e) return true;
  }
  return false;
}

// SweepTempFiles removes the temp files killed writers left in the root and
// under cert/.
void SweepTempFiles(const SafeDir& root) {
  root.RemoveOrphanTempFiles();
  absl::StatusOr<SafeDir> cert = root.OpenSubdir("cert", false);
  if (!cert.ok()) return;
  cert->RemoveOrphanTempFiles();
  for (absl::string_view sub : kGenerationDirs) {
    absl::StatusOr<SafeDir> dir = cert->OpenSubdir(sub, false);
    if (dir.ok()) dir->RemoveOrphanTempFiles();
  }
}

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone());
}

// CheckIdentityFileNames refuses, before anything is written, a name too long
// for the key's file name cert/client/<name>Key.pem: a file name has at most
// kMaxNameLength characters (ValidateName; NAME_MAX is 255), so a client name
// has at most 246, although a DNS name may have 253.
absl::Status CheckIdentityFileNames(const std::string& name) {
  constexpr absl::string_view kKeySuffix = "Key.pem";
  const size_t longest = internal::kMaxNameLength - kKeySuffix.size();
  if (name.size() <= longest) return absl::OkStatus();
  return Error(
      absl::StatusCode::kInvalidArgument, TL_E_NAME_INVALID,
      absl::StrCat("name '", name, "' has ", name.size(),
                   " characters: its key file cert/client/<name>", kKeySuffix,
                   " would exceed the ", internal::kMaxNameLength,
                   "-character file name limit, so a client name can have at "
                   "most ",
                   longest,
                   "; use a shorter name for this host "
                   "(a DNS alias)"));
}

// IdentityPlan is what createCert writes: the file stem, and a warning when
// it replaces an identity of another name.
struct IdentityPlan {
  std::string stem;
  std::string warning;
};

// ServerNames lists the configured appliances, for messages.
std::string ServerNames(const ClientConfig& config) {
  absl::StatusOr<std::vector<ServerConfig>> servers = config.Servers();
  std::vector<std::string> names;
  if (servers.ok()) {
    for (const ServerConfig& s : *servers) names.push_back(s.name);
  }
  return names.empty() ? "" : absl::StrJoin(names, ", ");
}

// PlanIdentity decides the file names of a new identity for `name` given the
// `current` one. The same name (in any letter case) renews the identity under
// its existing file names, so no second pair of files appears. Another name
// changes who this client is to every appliance, so it needs `force` and
// names the appliances that must then register the new certificate.
absl::StatusOr<IdentityPlan> PlanIdentity(const CanonicalName& name,
                                          const IdentityInfo& current,
                                          const ClientConfig& config,
                                          bool force) {
  IdentityPlan plan{FileStem(name), ""};
  if (!current.configured || current.name.empty()) return plan;
  if (SameName(current.name, name.canonical)) {
    std::string base =
        current.cert_path.substr(current.cert_path.find_last_of('/') + 1);
    if (absl::EndsWith(base, ".pem") &&
        SameName(base.substr(0, base.size() - 4), name.canonical)) {
      plan.stem = base.substr(0, base.size() - 4);
    }
    return plan;
  }
  std::string servers = ServerNames(config);
  std::string who =
      servers.empty()
          ? "No appliance is configured yet"
          : absl::StrCat("The appliances ", servers,
                         " know this client by its certificate for '",
                         current.name,
                         "'; on each of them register the new certificate "
                         "(tl_registry_replace_certificate), or its links are "
                         "refused");
  if (!force) {
    return Error(
        absl::StatusCode::kAlreadyExists, TL_E_ALREADY_EXISTS,
        absl::StrCat("this client's identity is '", current.name, "' (",
                     current.cert_path, "); a certificate for another name '",
                     name.as_typed, "' replaces it only with force. ", who,
                     ". Nothing was changed"));
  }
  plan.warning = absl::StrCat(
      "the identity '", current.name, "' was replaced by '", name.as_typed,
      "'. ", servers.empty() ? "No appliance is configured yet" : who);
  return plan;
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
  ClientRoot opened(*std::move(root));
  // Finish what a killed vtl left, so every reader sees a consistent root.
  // Best effort: a reader who may not write the root still gets it opened
  // (vtl verify then reports what is left).
  SweepTempFiles(opened.root_);
  if (NeedsRecovery(opened.root_)) {
    absl::StatusOr<FileLock> lock = opened.root_.Lock(kRootLock);
    if (lock.ok()) (void)opened.RecoverLocked();
  }
  return opened;
}

absl::Status ClientRoot::RecoverLocked() const {
  absl::StatusOr<bool> has_cert = root_.Exists("cert");
  if (!has_cert.ok()) return has_cert.status();
  if (!*has_cert) return absl::OkStatus();
  absl::StatusOr<SafeDir> cert = root_.OpenSubdir("cert", false);
  if (!cert.ok()) return cert.status();
  // The trust store's own lock also guards cert/server against a direct
  // TrustStore user.
  absl::StatusOr<TrustStore> store = TrustStore::Open(root_, false);
  if (!store.ok()) return store.status();
  absl::Status status = store->Recover();
  if (!status.ok()) return status;
  status = internal::RecoverSubdir(*cert, "client");
  if (!status.ok()) return status;
  for (absl::string_view sub : kGenerationDirs) {
    absl::StatusOr<bool> has_dir = cert->Exists(sub);
    if (!has_dir.ok()) return has_dir.status();
    if (!*has_dir) continue;
    absl::StatusOr<SafeDir> dir = cert->OpenSubdir(sub, false);
    if (!dir.ok()) return dir.status();
    absl::StatusOr<std::string> text =
        dir->ReadFile(kConfigJournal, kMaxConfigSize);
    if (text.status().code() == absl::StatusCode::kNotFound) continue;
    if (!text.ok()) return text.status();
    // The journal was committed with its directory: roll it forward. One that
    // does not parse was never ours to trust; drop it.
    absl::StatusOr<ClientConfig> config =
        ClientConfig::Parse(*text, dir->PathOf(kConfigJournal));
    if (config.ok()) {
      status = WriteConfig(*config);
      if (!status.ok()) return status;
    }
    status = dir->RemoveFile(kConfigJournal);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status ClientRoot::FinishJournal(absl::string_view subdir,
                                       const ClientConfig& config) const {
  absl::Status status = WriteConfig(config);
  if (!status.ok()) return status;
  absl::StatusOr<SafeDir> cert = root_.OpenSubdir("cert", false);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<SafeDir> dir = cert->OpenSubdir(subdir, false);
  if (!dir.ok()) return dir.status();
  return dir->RemoveFile(kConfigJournal);
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
  absl::Status fits = CheckIdentityFileNames(canonical->canonical);
  if (!fits.ok()) return fits;
  absl::StatusOr<FileLock> lock = root_.Lock(kRootLock);
  if (!lock.ok()) return lock.status();
  absl::Status status = RecoverLocked();
  if (!status.ok()) return status;
  absl::StatusOr<ClientConfig> config = LoadConfig();
  if (!config.ok()) return config.status();
  absl::StatusOr<SafeDir> cert_dir = root_.OpenSubdir("cert", true, 0755);
  if (!cert_dir.ok()) return cert_dir.status();
  absl::StatusOr<ntl::Identity> identity = CreateIdentity(*canonical, options);
  if (!identity.ok()) return identity.status();
  absl::StatusOr<IdentityInfo> current = Identity();
  absl::StatusOr<IdentityPlan> plan = PlanIdentity(
      *canonical, current.ok() ? *current : IdentityInfo(), *config, force);
  if (!plan.ok()) return plan.status();
  std::string cert_name = absl::StrCat(plan->stem, ".pem");
  std::string key_name = absl::StrCat(plan->stem, "Key.pem");
  std::string before = config->Serialize();
  config->Set("ClientCertFile", absl::StrCat("cert/client/", cert_name));
  config->Set("ClientPrivKeyFile", absl::StrCat("cert/client/", key_name));
  // The key, the certificate and (when the paths change) trustlink.conf change
  // in one rename: see identity_dir.h and kConfigJournal.
  bool config_changes = config->Serialize() != before;
  status = ReplaceIdentityInDir(
      *cert_dir, "client", cert_name, key_name, *identity, force,
      config_changes ? ConfigJournal(*config) : std::vector<DirFile>(), 0755);
  if (!status.ok()) return status;
  if (config_changes) {
    status = FinishJournal("client", *config);
    if (!status.ok()) return status;
  }
  absl::StatusOr<SafeDir> client_dir = cert_dir->OpenSubdir("client", false);
  if (!client_dir.ok()) return client_dir.status();
  CreateCertResult result;
  result.name = canonical->canonical;
  result.cert_path = client_dir->PathOf(cert_name);
  result.key_path = client_dir->PathOf(key_name);
  result.fingerprint = identity->cert.Sha256Fingerprint();
  result.key_type = identity->cert.KeyTypeDescription();
  result.not_after = identity->cert.NotAfter();
  result.warnings = canonical->warnings;
  if (!plan->warning.empty()) result.warnings.push_back(plan->warning);
  return result;
}

absl::StatusOr<AddResult> ClientRoot::AddServer(absl::string_view name,
                                                absl::string_view pem, int port,
                                                int htl, bool replace) {
  absl::StatusOr<FileLock> lock = root_.Lock(kRootLock);
  if (!lock.ok()) return lock.status();
  absl::Status recovered = RecoverLocked();
  if (!recovered.ok()) return recovered;
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
  absl::StatusOr<FileLock> lock = root_.Lock(kRootLock);
  if (!lock.ok()) return lock.status();
  absl::Status recovered = RecoverLocked();
  if (!recovered.ok()) return recovered;
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
  if (!in_config.ok() && !removed.ok()) {
    return Error(
        absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
        absl::StrCat(
            "server '", canonical->canonical,
            "' is not registered; tl_client_root_list_servers lists the "
            "registered servers"));
  }
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
  info.name = parsed->Name();
  info.fingerprint = parsed->Sha256Fingerprint();
  info.key_type = parsed->KeyTypeDescription();
  info.not_after = parsed->NotAfter();
  return info;
}

absl::Status ClientRoot::UpdateConfig(
    const std::function<absl::Status(ClientConfig*)>& edit) {
  absl::StatusOr<FileLock> lock = root_.Lock(kRootLock);
  if (!lock.ok()) return lock.status();
  absl::Status status = RecoverLocked();
  if (!status.ok()) return status;
  absl::StatusOr<ClientConfig> config = LoadConfig();
  if (!config.ok()) return config.status();
  status = edit(&*config);
  if (!status.ok()) return status;
  status = config->Validate();
  if (!status.ok()) return status;
  return WriteConfig(*config);
}

absl::StatusOr<std::vector<std::string>> ClientRoot::ImportChrystoki(
    absl::string_view text, absl::string_view file_name) {
  std::vector<std::string> report;
  absl::Status status = UpdateConfig([&](ClientConfig* config) {
    absl::StatusOr<std::vector<std::string>> lines =
        config->ImportChrystoki(text, file_name);
    if (!lines.ok()) return lines.status();
    report = *std::move(lines);
    return absl::OkStatus();
  });
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
    absl::Status recovered = RecoverLocked();
    if (!recovered.ok()) return recovered;
    absl::StatusOr<TrustStore> store = TrustStore::Open(root_, true);
    if (!store.ok()) return store.status();
    absl::StatusOr<std::vector<std::string>> repairs = store->Repair();
    if (!repairs.ok()) return repairs.status();
    result.repairs = *std::move(repairs);
    absl::StatusOr<std::vector<std::string>> config_repairs =
        RepairConfigLocked();
    if (!config_repairs.ok()) return config_repairs.status();
    for (std::string& r : *config_repairs) {
      result.repairs.push_back(std::move(r));
    }
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
                     " does not exist yet; creating the identity and "
                     "registering a server make it"));
  } else {
    add(Check::kOk, "trustlink.conf", absl::StrCat(ConfigPath(), " parses"));
  }

  // The client identity.
  std::string cert = config->Get("ClientCertFile");
  std::string key = config->Get("ClientPrivKeyFile");
  if (cert.empty() || key.empty()) {
    add(Check::kError, "client certificate",
        "no client identity is configured; create one "
        "(tl_client_root_create_cert)");
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
                                   cert, "; ", kRecreateIdentityFix));
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
          absl::StrCat("client certificate expired on ",
                       TimeText(identity->cert.NotAfter()), "; ",
                       kRecreateIdentityFix,
                       " and register the new certificate on each appliance"));
    } else {
      std::string text = absl::StrCat(
          "client certificate for '", identity->cert.Name(), "' (",
          identity->cert.KeyTypeDescription(), ") is valid until ",
          TimeText(identity->cert.NotAfter()), "; key permissions are 0600");
      bool soon =
          identity->cert.NotAfter() < absl::Now() + absl::Hours(24 * 30);
      add(soon ? Check::kWarning : Check::kOk, "client certificate",
          soon
              ? absl::StrCat(
                    text, "; it expires within 30 days: ", kRecreateIdentityFix)
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
  for (Check& c : VerifyHaMembers(*config, result.servers)) {
    result.checks.push_back(std::move(c));
  }
  if (result.servers.empty()) {
    add(Check::kWarning, "servers",
        "no server is registered (tl_client_root_add_server)");
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
