// ClientRoot's client identity (config_root.h): createCert, which makes the
// key pair and certificate and records them in trustlink.conf in one rename,
// and Identity, which describes the configured one.

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ntl/config_root.h"
#include "ntl/config_root_internal.h"
#include "ntl/identity_dir.h"
#include "ntl/internal/dir_swap.h"
#include "ntl/status.h"

namespace trustlink::ntl {

using config_root_internal::ConfigJournal;
using internal::DirFile;
using internal::FileLock;
using internal::SafeDir;

namespace {

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

absl::StatusOr<CreateCertResult> ClientRoot::CreateCert(
    absl::string_view name, const IdentityOptions& options, bool force) {
  absl::StatusOr<CanonicalName> canonical = CanonicalizeName(name);
  if (!canonical.ok()) return canonical.status();
  absl::Status fits = CheckIdentityFileNames(canonical->canonical);
  if (!fits.ok()) return fits;
  absl::StatusOr<FileLock> lock = LockForUpdate();
  if (!lock.ok()) return lock.status();
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
  absl::Status status = ReplaceIdentityInDir(
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

}  // namespace trustlink::ntl
