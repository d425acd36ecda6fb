#ifndef TRUSTLINK_NTL_SERVER_REGISTRY_ADAPTER_H_
#define TRUSTLINK_NTL_SERVER_REGISTRY_ADAPTER_H_

// The appliance registry (ntl/registry) seen through the engine's own
// interfaces: clients for admission, the server identity (with the regenCert
// overlap) for TLS, and the NTLS settings for the listener.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ntl/internal/mutex.h"
#include "ntl/registry/registry.h"
#include "ntl/server/credentials.h"
#include "ntl/server/directory.h"
#include "ntl/server/server.h"

namespace trustlink::ntl::server {

// RegistryDirectory serves admission from a Registry. generation() also notices
// changes made by other processes (admin commands): it drains the registry's
// watch fd, or refreshes at most every 250 ms when inotify is unavailable. It
// never waits for the registry lock: while an admin command is committing, the
// previous view serves, and the refresh is tried again at the next call.
// Thread safety: safe to call from any thread.
class RegistryDirectory : public ClientDirectory {
 public:
  explicit RegistryDirectory(std::shared_ptr<registry::Registry> reg);
  std::shared_ptr<const DirectorySnapshot> Snapshot() const override;
  uint64_t generation() const override;

 private:
  class Snap;
  const std::shared_ptr<registry::Registry> reg_;
  mutable internal::Mutex mu_;
  mutable absl::Time last_refresh_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // A refresh found a writer mid-commit (after draining the watch fd).
  mutable bool refresh_pending_ ABSL_GUARDED_BY(mu_) = false;
  mutable uint64_t cached_generation_ ABSL_GUARDED_BY(mu_) = 0;
  mutable std::shared_ptr<const DirectorySnapshot> cached_ ABSL_GUARDED_BY(mu_);
};

// RegistryCredentials serves the appliance identity under <root>/server: the
// current certificate, and the newest previous one during a regenCert overlap.
// It reloads when the registry generation moves (RegenerateServerCertificate
// and dropOldCert announce there). Thread safety: safe to call from any thread.
class RegistryCredentials : public CredentialSource {
 public:
  static absl::StatusOr<std::shared_ptr<RegistryCredentials>> Create(
      std::shared_ptr<RegistryDirectory> directory, std::string root);
  CredentialSet Get() const override;
  uint64_t generation() const override;

 private:
  RegistryCredentials(std::shared_ptr<RegistryDirectory> directory,
                      std::string root);
  absl::Status ReloadLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MaybeReload() const;

  const std::shared_ptr<RegistryDirectory> directory_;
  const std::string root_;
  mutable internal::Mutex mu_;
  mutable uint64_t seen_registry_generation_ ABSL_GUARDED_BY(mu_) = 0;
  mutable uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  mutable CredentialSet set_ ABSL_GUARDED_BY(mu_);
};

// ApplySettings copies the registry's bind address and port into `options`;
// they take effect when a server is made (ntlsd: at `service restart ntls`).
// Keep-alive and the receive timeout come live from the snapshots.
void ApplySettings(const registry::Settings& settings, ServerOptions* options);

}  // namespace trustlink::ntl::server

#endif  // TRUSTLINK_NTL_SERVER_REGISTRY_ADAPTER_H_
