// ClientRoot::Verify (config_root.h): the local checks of trustlink.conf,
// the client identity, the trust store and the servers, the optional repair
// before them and the optional probe after. The HA groups' checks are in
// config_root_ha.cc.

#include "absl/strings/str_cat.h"
#include "ntl/config_root.h"
#include "ntl/config_root_ha.h"
#include "ntl/status.h"

namespace trustlink::ntl {

using internal::FileLock;

namespace {

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone());
}

}  // namespace

bool VerifyResult::ok() const {
  for (const Check& c : checks) {
    if (c.level == Check::kError) return false;
  }
  for (const ServerStatus& s : servers) {
    if (!s.local.ok() || (s.probed && !s.probe.ok())) return false;
  }
  return true;
}

absl::StatusOr<VerifyResult> ClientRoot::Verify(const VerifyOptions& options) {
  VerifyResult result;
  auto add = [&](Check::Level level, absl::string_view object,
                 absl::string_view message) {
    result.checks.push_back(
        Check{level, std::string(object), std::string(message)});
  };
  if (options.repair) {
    absl::StatusOr<FileLock> lock = LockForUpdate();
    if (!lock.ok()) return lock.status();
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
