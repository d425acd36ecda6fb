// ClientRoot's frame (config_root.h): opening a root and finishing what a
// killed writer left (temp files, generation swaps, config journals), reading
// and writing trustlink.conf under the root lock. The operations live in the
// other config_root_*.cc files, one concern each (see BUILD.bazel).

#include "ntl/config_root.h"

#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ntl/config_root_internal.h"
#include "ntl/internal/dir_swap.h"
#include "ntl/status.h"

namespace trustlink::ntl {

using config_root_internal::kConfigJournal;
using internal::DirFile;
using internal::FileLock;
using internal::SafeDir;

namespace config_root_internal {

std::vector<DirFile> ConfigJournal(const ClientConfig& config) {
  return {DirFile{std::string(kConfigJournal), config.Serialize(), 0644}};
}

}  // namespace config_root_internal
namespace {

constexpr absl::string_view kRootLock = ".trustlink.lock";
constexpr size_t kMaxConfigSize = 1 << 20;
// kGenerationDirs are the subdirectories of cert/ replaced as generations.
constexpr absl::string_view kGenerationDirs[] = {"client", "server"};

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

}  // namespace

std::string DefaultClientRoot() {
  const char* env = std::getenv(std::string(kClientRootEnv).c_str());
  if (env != nullptr && env[0] != '\0') return env;
  return std::string(kDefaultClientRoot);
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

absl::StatusOr<FileLock> ClientRoot::LockForUpdate() const {
  absl::StatusOr<FileLock> lock = root_.Lock(kRootLock);
  if (!lock.ok()) return lock.status();
  absl::Status status = RecoverLocked();
  if (!status.ok()) return status;
  return lock;
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

absl::Status ClientRoot::UpdateConfig(
    const std::function<absl::Status(ClientConfig*)>& edit) {
  absl::StatusOr<FileLock> lock = LockForUpdate();
  if (!lock.ok()) return lock.status();
  absl::StatusOr<ClientConfig> config = LoadConfig();
  if (!config.ok()) return config.status();
  absl::Status status = edit(&*config);
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

}  // namespace trustlink::ntl
