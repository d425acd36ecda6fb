#ifndef TRUSTLINK_HTL_SECRET_STORE_H_
#define TRUSTLINK_HTL_SECRET_STORE_H_

// Where the agent keeps its HTL secrets: memory only, never a disk.
// MemorySecretStore lives in the agent process. RuntimeSecretStore lets a
// restarted agent carry on without a new token: it keeps one 0600 file per
// appliance in a directory that must be on tmpfs or ramfs
// ($XDG_RUNTIME_DIR), so the secrets live in RAM, vanish at reboot, and are
// never part of a disk image. A live-memory clone copies them, which is exactly
// what the heartbeat ratchet detects.

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "htl/internal/files.h"
#include "ntl/internal/mutex.h"

namespace trustlink::htl {

struct HeldSecret {
  uint64_t generation = 0;
  std::string secret;
};

// Thread safety: implementations are safe to call from many threads.
class SecretStore {
 public:
  virtual ~SecretStore() = default;
  virtual absl::StatusOr<absl::optional<HeldSecret>> Get(
      absl::string_view appliance) = 0;
  virtual absl::Status Put(absl::string_view appliance,
                           const HeldSecret& secret) = 0;
  virtual absl::Status Remove(absl::string_view appliance) = 0;
};

// Thread safety: safe to call from many threads.
class MemorySecretStore : public SecretStore {
 public:
  absl::StatusOr<absl::optional<HeldSecret>> Get(
      absl::string_view appliance) override;
  absl::Status Put(absl::string_view appliance,
                   const HeldSecret& secret) override;
  absl::Status Remove(absl::string_view appliance) override;
  // Copy returns an independent store with the same contents (a clone of the
  // VM's memory, in tests).
  std::unique_ptr<MemorySecretStore> Copy() const;

 private:
  mutable ntl::internal::Mutex mu_;
  std::map<std::string, HeldSecret> secrets_ ABSL_GUARDED_BY(mu_);
};

// Thread safety: safe to call from many threads; writes are atomic file
// replacements.
class RuntimeSecretStore : public SecretStore {
 public:
  // Open uses `dir` (created 0700). Unless `allow_disk` (tests only), it
  // refuses a directory that is not on tmpfs or ramfs, with a message naming
  // the directory.
  static absl::StatusOr<std::unique_ptr<RuntimeSecretStore>> Open(
      const std::string& dir, bool allow_disk = false);
  absl::StatusOr<absl::optional<HeldSecret>> Get(
      absl::string_view appliance) override;
  absl::Status Put(absl::string_view appliance,
                   const HeldSecret& secret) override;
  absl::Status Remove(absl::string_view appliance) override;

 private:
  explicit RuntimeSecretStore(internal::Dir dir) : dir_(std::move(dir)) {}
  const internal::Dir dir_;
};

// IsMemoryFilesystem reports whether `path` is on tmpfs or ramfs.
absl::StatusOr<bool> IsMemoryFilesystem(const std::string& path);

}  // namespace trustlink::htl

#endif  // TRUSTLINK_HTL_SECRET_STORE_H_
