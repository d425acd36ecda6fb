#include "htl/secret_store.h"

#include <errno.h>
#include <sys/vfs.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "htl/crypto.h"
#include "ntl/status.h"

namespace trustlink::htl {
namespace {
constexpr long kTmpfsMagic = 0x01021994;
constexpr long kRamfsMagic = static_cast<long>(0x858458f6);

std::string SecretFileName(absl::string_view appliance) {
  return absl::StrCat("secret-", HexEncode(Sha256(appliance)).substr(0, 40));
}
}  // namespace

absl::StatusOr<absl::optional<HeldSecret>> MemorySecretStore::Get(
    absl::string_view appliance) {
  ntl::internal::MutexLock lock(&mu_);
  auto it = secrets_.find(std::string(appliance));
  if (it == secrets_.end()) return absl::optional<HeldSecret>();
  return absl::optional<HeldSecret>(it->second);
}

absl::Status MemorySecretStore::Put(absl::string_view appliance,
                                    const HeldSecret& secret) {
  ntl::internal::MutexLock lock(&mu_);
  secrets_[std::string(appliance)] = secret;
  return absl::OkStatus();
}

absl::Status MemorySecretStore::Remove(absl::string_view appliance) {
  ntl::internal::MutexLock lock(&mu_);
  secrets_.erase(std::string(appliance));
  return absl::OkStatus();
}

std::unique_ptr<MemorySecretStore> MemorySecretStore::Copy() const {
  auto copy = std::make_unique<MemorySecretStore>();
  ntl::internal::MutexLock lock(&mu_);
  ntl::internal::MutexLock lock2(&copy->mu_);
  copy->secrets_ = secrets_;
  return copy;
}

absl::StatusOr<bool> IsMemoryFilesystem(const std::string& path) {
  struct statfs fs;
  if (::statfs(path.c_str(), &fs) != 0) {
    return ntl::Error(
        absl::StatusCode::kInternal, TL_E_IO,
        absl::StrCat("statfs ", path, ": ", std::strerror(errno)));
  }
  return static_cast<long>(fs.f_type) == kTmpfsMagic ||
         static_cast<long>(fs.f_type) == kRamfsMagic;
}

absl::StatusOr<std::unique_ptr<RuntimeSecretStore>> RuntimeSecretStore::Open(
    const std::string& dir, bool allow_disk) {
  absl::StatusOr<internal::Dir> d = internal::Dir::Open(dir, true, 0700);
  if (!d.ok()) return d.status();
  if (!allow_disk) {
    absl::StatusOr<bool> mem = IsMemoryFilesystem(dir);
    if (!mem.ok()) return mem.status();
    if (!*mem) {
      return ntl::Error(
          absl::StatusCode::kFailedPrecondition, TL_E_FAILED_PRECONDITION,
          absl::StrCat("HTL secrets must stay in memory, but ", dir,
                       " is not on tmpfs; use a directory under "
                       "$XDG_RUNTIME_DIR or /dev/shm"));
    }
  }
  return std::unique_ptr<RuntimeSecretStore>(
      new RuntimeSecretStore(*std::move(d)));
}

absl::StatusOr<absl::optional<HeldSecret>> RuntimeSecretStore::Get(
    absl::string_view appliance) {
  absl::StatusOr<std::string> text =
      dir_.ReadFile(SecretFileName(appliance), 1024);
  if (absl::IsNotFound(text.status())) return absl::optional<HeldSecret>();
  if (!text.ok()) return text.status();
  std::vector<absl::string_view> f =
      absl::StrSplit(*text, absl::ByAnyChar(" \n"), absl::SkipEmpty());
  HeldSecret s;
  absl::StatusOr<std::string> secret =
      f.size() == 2 ? HexDecode(f[1], "secret")
                    : absl::StatusOr<std::string>(absl::DataLossError(""));
  if (f.size() != 2 || !absl::SimpleAtoi(f[0], &s.generation) || !secret.ok() ||
      secret->size() != kSecretLen) {
    return ntl::Error(
        absl::StatusCode::kDataLoss, TL_E_DATA_LOSS,
        absl::StrCat("HTL secret file for '", appliance, "' in ", dir_.path(),
                     " is corrupt; delete it and copy a new token"));
  }
  s.secret = *std::move(secret);
  return absl::optional<HeldSecret>(std::move(s));
}

absl::Status RuntimeSecretStore::Put(absl::string_view appliance,
                                     const HeldSecret& secret) {
  return dir_.WriteFileAtomic(
      SecretFileName(appliance),
      absl::StrCat(secret.generation, " ", HexEncode(secret.secret), "\n"),
      0600);
}

absl::Status RuntimeSecretStore::Remove(absl::string_view appliance) {
  return dir_.RemoveFile(SecretFileName(appliance));
}

}  // namespace trustlink::htl
