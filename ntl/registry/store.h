#ifndef TRUSTLINK_NTL_REGISTRY_STORE_H_
#define TRUSTLINK_NTL_REGISTRY_STORE_H_

// FileStore: the registry on disk (layout and protocol in docs/appliance.md,
// "Storage").
//
//   <root>/lock               OFD lock serialising every writer (and full
//   loads) <root>/generation         the committed generation number, replaced
//   atomically <root>/settings           NTLS and HTL settings
//   <root>/clients/<id>       one file per client; id = 32 hex digits of
//   SHA-256(label) <root>/partitions/<name>  one file per partition
//   <root>/journal/<gen>      which files generation <gen> changed (the last
//   4096 kept) <root>/incoming/          where an admin's scp drops <host>.pem
//   <root>/server/            the appliance identity (server_identity.h)
//
// A commit, under the lock: (1) write journal/<G+1> naming the keys it will
// change (merged with a leftover journal/<G+1> from a writer that died), (2)
// replace or remove each changed file atomically, (3) replace `generation` with
// G+1. Each file is always whole, so a crash at any point leaves a registry
// that loads; a reader that missed a dead writer's changes re-reads them at the
// next commit, whose journal entry includes them.
//
// This class is the seam where a distributed store (etcd with watches) could
// stand in later.

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/optional.h"
#include "ntl/internal/safe_dir.h"
#include "ntl/registry/state.h"

namespace trustlink::ntl::registry {

// A change to one registry file. key is "client <id>", "partition <name>",
// "settings" or "server" (the server identity changed; announced only);
// contents absent means "remove the file".
struct FileChange {
  std::string key;
  absl::optional<std::string> contents;
};

// Thread safety: not thread-safe; Registry serialises calls with its own mutex,
// and processes are serialised by the lock file.
class FileStore {
 public:
  // Open opens (and with create, makes) the directory tree at `root`.
  static absl::StatusOr<FileStore> Open(const std::string& root, bool create);

  FileStore(FileStore&&) = default;
  FileStore& operator=(FileStore&&) = default;

  // Lock takes the registry's OFD lock; it is held until the returned object
  // dies.
  absl::StatusOr<internal::FileLock> Lock();
  // LockShared is the readers' side of Lock: readers exclude writers, not one
  // another. TryLockShared does not wait: UNAVAILABLE while a writer holds
  // Lock.
  absl::StatusOr<internal::FileLock> LockShared();
  absl::StatusOr<internal::FileLock> TryLockShared();

  absl::StatusOr<uint64_t> ReadGeneration();

  // LoadAll reads the whole registry into a fresh state; any damaged file fails
  // the load with the file (and line) named.
  absl::StatusOr<RegistryState> LoadAll();

  // ChangedKeys returns the keys changed by generations (from, to], or nullopt
  // when the journal no longer covers that range (then a full load is needed).
  absl::StatusOr<absl::optional<std::set<std::string>>> ChangedKeys(
      uint64_t from, uint64_t to);

  // ApplyKeys re-reads the files named by `keys` into `state`. On failure
  // `state` may be partly updated; the caller discards it.
  absl::Status ApplyKeys(const std::set<std::string>& keys,
                         RegistryState* state);

  // Commit writes `changes` as generation current+1 (see the protocol above)
  // and returns the new generation. The caller holds the lock and has checked
  // `current` is up to date. `leftover_keys` receives the keys of a dead
  // writer's unannounced changes that this commit announces; the caller
  // re-reads them (ApplyKeys). Many client files are written as one batch: temp
  // files, one syncfs, renames, one directory fsync.
  absl::StatusOr<uint64_t> Commit(uint64_t current,
                                  const std::vector<FileChange>& changes,
                                  std::set<std::string>* leftover_keys);

  // Reads a client file's text (for tests and tools).
  internal::SafeDir& root() { return root_; }
  const std::string& path() const { return path_; }

 private:
  FileStore(std::string path, internal::SafeDir root, internal::SafeDir clients,
            internal::SafeDir partitions, internal::SafeDir journal)
      : path_(std::move(path)),
        root_(std::move(root)),
        clients_(std::move(clients)),
        partitions_(std::move(partitions)),
        journal_(std::move(journal)) {}

  absl::Status ApplyKey(const std::string& key, RegistryState* state);

  std::string path_;
  internal::SafeDir root_;
  internal::SafeDir clients_;
  internal::SafeDir partitions_;
  internal::SafeDir journal_;
};

inline constexpr uint64_t kJournalKeep = 4096;

}  // namespace trustlink::ntl::registry

#endif  // TRUSTLINK_NTL_REGISTRY_STORE_H_
