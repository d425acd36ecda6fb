#ifndef TRUSTLINK_NTL_REGISTRY_REGISTRY_H_
#define TRUSTLINK_NTL_REGISTRY_REGISTRY_H_

// Registry: the appliance's registry of clients, partitions and settings,
// stored under the appliance root (docs/appliance.md). Admin tools change it;
// the NTLS server reads it through immutable snapshots and learns of changes
// from a file descriptor it can put in epoll.
//
// Typical server use:
//   auto reg = Registry::Open(root);              // loads everything once
//   epoll_ctl(ep, EPOLL_CTL_ADD, (*reg)->watch_fd(), ...);
//   on readable: (*reg)->Refresh();               // re-reads only what changed
//   per handshake: auto snap = (*reg)->Snapshot();
//                  const ClientRecord* c = snap->FindClientByFingerprint(fp);

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "ntl/internal/mutex.h"
#include "ntl/registry/model.h"
#include "ntl/registry/server_identity.h"
#include "ntl/registry/snapshot.h"
#include "ntl/registry/store.h"

namespace trustlink::ntl::registry {

// ClientRegistration is what `client register` supplies.
struct ClientRegistration {
  std::string label;
  std::string name;  // Hostname or IP as typed; it is canonicalised.
  // Whether `name` came as -ip (true) or -hostname (false); an -ip that is not
  // an address, or a -hostname that is one, is refused.
  bool name_is_ip = false;
  std::string certificate_pem;
  bool require_htl = false;
  int64_t ott_expiry_seconds = 0;  // 0: the appliance default.
  // Register even when the certificate's CN/SAN does not match `name`.
  bool force_name_mismatch = false;
};

// ChangeResult is the outcome of a change: the record as stored plus any
// warnings (names the reference product would have refused, an idempotent
// no-op) for the admin to read.
struct ChangeResult {
  ClientRecord client;
  std::vector<std::string> warnings;
  bool changed = true;
};

// Thread safety: thread-safe. Snapshots are immutable and may outlive the
// Registry. Changes from several threads or processes are serialised (a mutex
// and the OFD lock file).
class Registry {
 public:
  // Open loads the registry at `root`, creating an empty one (mode 0700) when
  // `create`.
  static absl::StatusOr<std::unique_ptr<Registry>> Open(const std::string& root,
                                                        bool create = true);
  ~Registry();

  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Snapshot returns the current view. Cheap: a shared_ptr copy when nothing
  // changed since the last call. After a change, the new snapshot shares every
  // untouched bucket of the client indexes with the live state (cow_map.h):
  // the change paid for copying the buckets it touched, not for all clients.
  std::shared_ptr<const RegistrySnapshot> Snapshot();

  // generation is the generation of the current view.
  uint64_t generation();

  // watch_fd becomes readable when another process may have committed a change;
  // then call Refresh. It is non-blocking, owned by the Registry, and -1 when
  // inotify is unavailable (then poll Refresh on a timer).
  int watch_fd() const { return watch_fd_; }

  // Refresh drains watch_fd and brings the view up to date: nothing when the
  // generation did not move, the changed files only when the journal covers the
  // gap, else a full reload. On failure (a damaged file) the previous view
  // stays in place and the error names the file.
  absl::Status Refresh();
  // TryRefresh is Refresh for threads that must never wait on another process
  // (a server's event loop): while a writer holds the registry lock it returns
  // UNAVAILABLE at once and the view stays as it was. The watch fd is drained
  // all the same, so the caller must call again later.
  absl::Status TryRefresh();
  // Test only: `hook` runs inside the next Refresh or TryRefresh, after it
  // drained the watch fd and before it caught up (nullptr removes it).
  void SetAfterDrainForTest(std::function<void()> hook)
      ABSL_LOCKS_EXCLUDED(hook_mu_);

  // --- Changes. Each is atomic, durable and visible to other processes on
  // return. ---
  absl::StatusOr<ChangeResult> RegisterClient(const ClientRegistration& reg);
  // RegisterClients registers many clients as one change (one generation, one
  // fsync of the directory per batch), for imports and tests at scale. All or
  // nothing in memory; on disk a crash may leave a prefix, which is consistent.
  absl::Status RegisterClients(const std::vector<ClientRegistration>& regs);
  absl::StatusOr<ChangeResult> ReplaceCertificate(
      absl::string_view label, absl::string_view certificate_pem,
      bool force_name_mismatch);
  absl::Status DeleteClient(absl::string_view label);
  absl::StatusOr<ChangeResult> SetRequireHtl(absl::string_view label,
                                             bool require_htl,
                                             int64_t ott_expiry_seconds);
  absl::StatusOr<ChangeResult> MapHostIp(absl::string_view label,
                                         absl::string_view ip);
  absl::StatusOr<ChangeResult> UnmapHostIp(absl::string_view label,
                                           absl::string_view ip);
  absl::StatusOr<ChangeResult> AssignPartition(absl::string_view label,
                                               absl::string_view partition);
  absl::StatusOr<ChangeResult> RevokePartition(absl::string_view label,
                                               absl::string_view partition);

  // CreatePartition makes a partition; an empty serial gets a fresh unique one.
  absl::StatusOr<Partition> CreatePartition(absl::string_view name,
                                            absl::string_view label,
                                            absl::string_view serial);
  // DeletePartition removes a partition. If clients use it, it fails unless
  // `force`, and then it revokes it from them first. Returns the labels of the
  // clients that lost access.
  absl::StatusOr<std::vector<std::string>> DeletePartition(
      absl::string_view name, bool force);

  // UpdateSettings applies `edit` to the current settings and stores the result
  // if valid.
  absl::StatusOr<Settings> UpdateSettings(
      const std::function<absl::Status(Settings*)>& edit);

  // RegenerateServerCertificate makes a new server identity, keeping the old
  // one for the overlap (server_identity.h), and announces it: a server reloads
  // its identity when the generation moves. Empty name: the name in the current
  // certificate.
  absl::StatusOr<ServerIdentities> RegenerateServerCertificate(
      absl::string_view name, KeyType key_type);
  // DropOldServerCertificates ends the overlap; returns how many were dropped.
  absl::StatusOr<int> DropOldServerCertificates();

  const std::string& root() const { return root_; }

 private:
  Registry(std::string root, FileStore store, int watch_fd);

  // Locked runs `body` with the OFD lock held and the state caught up with the
  // disk.
  absl::Status Locked(const std::function<absl::Status()>& body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CatchUpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // RefreshWith catches the view up under the reader's lock `lock_shared`
  // takes (waiting or not).
  absl::Status RefreshWith(absl::StatusOr<internal::FileLock> (
      FileStore::*lock_shared)()) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status CommitLocked(const std::vector<FileChange>& changes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<ChangeResult> EditClient(
      absl::string_view label,
      const std::function<absl::Status(ClientRecord*, std::vector<std::string>*,
                                       bool*)>& edit);
  absl::StatusOr<ClientRecord> BuildClient(const ClientRegistration& reg,
                                           std::vector<std::string>* warnings)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RestoreLastGoodLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DrainWatch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RunAfterDrainHook() ABSL_LOCKS_EXCLUDED(hook_mu_);

  const std::string root_;
  const int watch_fd_;
  internal::Mutex mu_;
  internal::Mutex hook_mu_;
  std::function<void()> after_drain_for_test_ ABSL_GUARDED_BY(hook_mu_);
  FileStore store_ ABSL_GUARDED_BY(mu_);
  // The state as of generation_, kept up to date in place by this process's own
  // changes.
  RegistryState state_ ABSL_GUARDED_BY(mu_);
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  // Set when state_ may disagree with the disk (a failed commit or reload).
  bool needs_full_reload_ ABSL_GUARDED_BY(mu_) = true;
  // Set when state_ changed without a generation change (a reload after
  // RestoreLastGood).
  bool state_dirty_ ABSL_GUARDED_BY(mu_) = false;
  // The last published view; rebuilt from state_ lazily when stale (an O(1)
  // copy of the client indexes: the next change to state_ copies what it
  // touches).
  std::shared_ptr<const RegistrySnapshot> snapshot_ ABSL_GUARDED_BY(mu_);
};

}  // namespace trustlink::ntl::registry

#endif  // TRUSTLINK_NTL_REGISTRY_REGISTRY_H_
