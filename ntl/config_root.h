#ifndef TRUSTLINK_NTL_CONFIG_ROOT_H_
#define TRUSTLINK_NTL_CONFIG_ROOT_H_

// ClientRoot: the client host's enrolment state under one directory, and the
// operations `vtl` offers on it. The layout:
//
//   <root>/trustlink.conf                   ClientConfig (servers, keep-alive,
//   timeouts) <root>/cert/client/<name>.pem           the client's certificate
//   (0644) <root>/cert/client/<name>Key.pem        its private key (0600,
//   O_EXCL) <root>/cert/server/<name>Cert.pem       TrustStore
//   <root>/cert/server/CAFile.pem
//   <root>/htl/<appliance>.ott              one-time tokens for HTL (the HTL
//   agent's) <root>/.trustlink.lock                  OFD lock: serialises vtl
//   processes
//
// The root is --root, else $TRUSTLINK_CLIENT_ROOT, else /etc/trustlink/client.

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ntl/config_client.h"
#include "ntl/identity.h"
#include "ntl/internal/safe_dir.h"
#include "ntl/trust_store.h"

namespace trustlink::ntl {

inline constexpr absl::string_view kDefaultClientRoot = "/etc/trustlink/client";
inline constexpr absl::string_view kClientRootEnv = "TRUSTLINK_CLIENT_ROOT";

// DefaultClientRoot returns $TRUSTLINK_CLIENT_ROOT if set and non-empty, else
// kDefaultClientRoot.
std::string DefaultClientRoot();

// CreateCertResult is what createCert made.
struct CreateCertResult {
  std::string name;  // Canonical.
  std::string cert_path;
  std::string key_path;
  std::string fingerprint;
  std::string key_type;  // "Ed25519", ...
  absl::Time not_after;
  std::vector<std::string> warnings;
};

// ServerStatus is one server as listServers / verify see it.
struct ServerStatus {
  std::string name;
  int port = kDefaultServerPort;
  bool htl = false;
  bool in_config = false;
  bool trusted = false;  // Named file and CAFile.pem agree.
  std::string fingerprint;
  absl::Time not_after = absl::InfinitePast();
  // Local verdict: OK, or the problem with the fix (code and message).
  absl::Status local;
  // probed/probe: set by a probe (VerifyOptions::probe), e.g. a TLS connection
  // attempt.
  bool probed = false;
  absl::Status probe;
};

// Check is one line of a verify report that is not about a single server.
struct Check {
  enum Level { kOk, kWarning, kError };
  Level level = kOk;
  std::string object;  // "trustlink.conf", "client certificate", ...
  std::string message;
};

struct VerifyOptions {
  bool repair = false;
  // probe, when set, is called for each server that is trusted and configured;
  // its result lands in ServerStatus::probe. The link layer supplies one that
  // connects.
  std::function<absl::Status(const ServerStatus&, const ServerCert&)> probe;
};

struct VerifyResult {
  std::vector<Check> checks;
  std::vector<ServerStatus> servers;
  std::vector<std::string> repairs;  // What repair changed.
  // ok is true when there is no error (warnings allowed) in checks or servers.
  bool ok() const;
};

// AddServer's "keep what is registered" values.
inline constexpr int kKeepServerPort = 0;
inline constexpr int kKeepServerHtl = -1;

// IdentityInfo describes the configured client identity.
struct IdentityInfo {
  bool configured = false;
  std::string cert_path;
  std::string key_path;
  std::string name;
  std::string fingerprint;
  std::string key_type;
  absl::Time not_after = absl::InfinitePast();
};

// ClientRoot is an opened client root.
// Thread safety: methods may be called from many threads and processes; each
// mutating operation holds the root's OFD lock for its whole read-modify-write.
class ClientRoot {
 public:
  // Open opens `path` (creating it, 0755, with `create`).
  static absl::StatusOr<ClientRoot> Open(const std::string& path, bool create);

  ClientRoot(ClientRoot&&) noexcept = default;
  ClientRoot& operator=(ClientRoot&&) noexcept = default;

  const std::string& path() const { return root_.path(); }
  std::string ConfigPath() const { return root_.PathOf(kConfigFileName); }

  // CreateCert makes the client identity for `name` and records it in
  // trustlink.conf.
  absl::StatusOr<CreateCertResult> CreateCert(absl::string_view name,
                                              const IdentityOptions& options,
                                              bool force);

  // AddServer registers an appliance certificate (PEM text) under `name` in the
  // trust store and lists the server in trustlink.conf with `port` and `htl`
  // (0 or 1). kKeepServerPort and kKeepServerHtl keep what a server already
  // registered has (1792 and no HTL for a new one).
  absl::StatusOr<AddResult> AddServer(absl::string_view name,
                                      absl::string_view pem, int port, int htl,
                                      bool replace);

  // DeleteServer removes the server from trustlink.conf and the trust store.
  // NOT_FOUND if it is in neither.
  absl::Status DeleteServer(absl::string_view name);

  // ListServers returns every server in the config or the trust store.
  absl::StatusOr<std::vector<ServerStatus>> ListServers() const;

  // Identity describes the configured client identity (configured=false if
  // none).
  absl::StatusOr<IdentityInfo> Identity() const;

  // LoadConfig reads trustlink.conf (the defaults if it does not exist yet).
  absl::StatusOr<ClientConfig> LoadConfig() const;

  // UpdateConfig changes trustlink.conf under the root's lock: it reads the
  // config, lets `edit` change it, validates the result and replaces the
  // file atomically (temp, fsync, rename, fsync dir). Nothing is written when
  // `edit` or the validation fails; their status is returned.
  absl::Status UpdateConfig(
      const std::function<absl::Status(ClientConfig*)>& edit);

  // ImportChrystoki imports a Chrystoki.conf's client section into
  // trustlink.conf.
  absl::StatusOr<std::vector<std::string>> ImportChrystoki(
      absl::string_view text, absl::string_view file_name);

  // Verify runs the local checks (and the probe, if given).
  absl::StatusOr<VerifyResult> Verify(const VerifyOptions& options);

  // TrustStore gives access to the store (for the link layer: LoadPinned).
  absl::StatusOr<ntl::TrustStore> OpenTrustStore(bool create) const;

 private:
  explicit ClientRoot(internal::SafeDir root) : root_(std::move(root)) {}
  // LockForUpdate takes the root's OFD lock, which every read-modify-write
  // holds throughout, and first finishes what a killed update left
  // (RecoverLocked). The lock is released when the FileLock goes.
  absl::StatusOr<internal::FileLock> LockForUpdate() const;
  absl::Status WriteConfig(const ClientConfig& config) const;
  // RecoverLocked (under the root lock) finishes what a killed update left:
  // interrupted generation swaps of cert/client and cert/server, and config
  // journals committed with them but not yet written to trustlink.conf.
  absl::Status RecoverLocked() const;
  // FinishJournal writes `config` (the journal just committed in
  // cert/`subdir`) to trustlink.conf and removes the journal.
  absl::Status FinishJournal(absl::string_view subdir,
                             const ClientConfig& config) const;
  // RepairConfigLocked adds to trustlink.conf each server the trust store
  // trusts but the config lacks (left by a kill in an older vtl).
  absl::StatusOr<std::vector<std::string>> RepairConfigLocked() const;
  // ResolveFile splits a config path into an opened directory and a file name.
  absl::StatusOr<std::pair<internal::SafeDir, std::string>> ResolveFile(
      const std::string& configured) const;

  internal::SafeDir root_;
};

}  // namespace trustlink::ntl

#endif  // TRUSTLINK_NTL_CONFIG_ROOT_H_
