#include "ntl/trust_store.h"

// The store's storage: opening cert/server, reading it whole under its lock
// (a Snapshot), committing a new generation and recovering an interrupted one.
// What a snapshot means is trust_store_verify.cc; the edits are
// trust_store_edit.cc.

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ntl/identity.h"
#include "ntl/internal/dir_swap.h"
#include "ntl/status.h"
#include "ntl/trust_store_internal.h"

namespace trustlink::ntl {
namespace {

using internal::FileLock;
using internal::SafeDir;
using trust_store_internal::kCertSuffix;
using trust_store_internal::kLockFile;
using trust_store_internal::kServerDir;

constexpr size_t kMaxCAFileSize = 16 << 20;
constexpr size_t kMaxFiles = 10000;

// CheckCopyable refuses an update that would have to drop something it cannot
// copy.
absl::Status CheckCopyable(const std::vector<std::string>& uncopyable) {
  if (uncopyable.empty()) return absl::OkStatus();
  return Error(
      absl::StatusCode::kFailedPrecondition, TL_E_TRUST_STORE_INCONSISTENT,
      absl::StrCat(uncopyable.front(),
                   "; the trust store was not changed. Move that entry out of "
                   "cert/server and try again"));
}

// RequireParsedCAFile refuses an edit on a CAFile.pem that does not parse
// (`cafile_error` says why): building on it would drop every entry in it.
absl::Status RequireParsedCAFile(const std::string& cafile_error) {
  if (cafile_error.empty()) return absl::OkStatus();
  return Error(absl::StatusCode::kFailedPrecondition,
               TL_E_TRUST_STORE_INCONSISTENT,
               absl::StrCat(cafile_error, "; ", kRepairFix,
                            " first. The store is unchanged"));
}

}  // namespace

std::string TrustStore::FileNameFor(const CanonicalName& name) {
  return absl::StrCat(FileStem(name), kCertSuffix);
}

absl::StatusOr<TrustStore> TrustStore::Open(const SafeDir& root, bool create) {
  absl::StatusOr<SafeDir> cert = root.OpenSubdir("cert", create, 0755);
  if (!cert.ok()) return cert.status();
  std::string server_path = cert->PathOf(kServerDir);
  if (create) {
    absl::StatusOr<SafeDir> server = cert->OpenSubdir(kServerDir, true, 0755);
    if (!server.ok()) return server.status();
  } else {
    absl::StatusOr<bool> exists = cert->Exists(kServerDir);
    if (!exists.ok()) return exists.status();
    if (*exists) {
      absl::StatusOr<SafeDir> server = cert->OpenSubdir(kServerDir, false);
      if (!server.ok()) return server.status();
    }
  }
  return TrustStore(*std::move(cert), server_path);
}

absl::StatusOr<TrustStore::Snapshot> TrustStore::ReadSnapshot() const {
  Snapshot snap;
  absl::StatusOr<bool> exists = cert_dir_.Exists(kServerDir);
  if (!exists.ok()) return exists.status();
  if (!*exists) return snap;
  absl::StatusOr<SafeDir> dir = cert_dir_.OpenSubdir(kServerDir, false);
  if (!dir.ok()) return dir.status();
  absl::StatusOr<std::vector<std::string>> names = dir->List();
  if (!names.ok()) return names.status();
  if (names->size() > kMaxFiles) {
    return Error(
        absl::StatusCode::kResourceExhausted, TL_E_TRUST_STORE_INCONSISTENT,
        absl::StrCat(dir->path(), " holds more than ", kMaxFiles, " files"));
  }
  for (const std::string& file : *names) {
    // A journal belongs to the update that wrote it (its owner rolls it
    // forward and removes it); it is never part of the store.
    if (internal::IsJournalName(file)) continue;
    bool is_cafile = file == kCAFileName;
    bool is_named = !is_cafile && absl::EndsWith(file, kCertSuffix) &&
                    file.size() > kCertSuffix.size();
    absl::StatusOr<std::string> contents =
        dir->ReadFile(file, is_cafile ? kMaxCAFileSize : kMaxPemFileSize);
    if (is_cafile) {
      if (!contents.ok()) {
        snap.cafile_missing = false;
        snap.cafile_error = std::string(contents.status().message());
        continue;
      }
      snap.cafile_missing = false;
      snap.files[file] = *contents;
      absl::StatusOr<std::vector<Certificate>> certs =
          Certificate::ParsePemList(*contents, dir->PathOf(file));
      if (!certs.ok()) {
        snap.cafile_error = std::string(certs.status().message());
      } else {
        snap.cafile = *std::move(certs);
      }
      continue;
    }
    if (contents.ok()) {
      snap.files[file] = *contents;
    } else {
      snap.uncopyable.push_back(std::string(contents.status().message()));
    }
    if (!is_named) continue;
    Snapshot::Named named;
    named.file_name = file;
    named.stem = file.substr(0, file.size() - kCertSuffix.size());
    named.name = CanonicalizeNameWithHost(named.stem, "");
    if (!contents.ok()) {
      named.cert = contents.status();
    } else {
      named.cert = Certificate::ParsePem(*contents, dir->PathOf(file));
    }
    snap.named.push_back(std::move(named));
  }
  return snap;
}

absl::Status TrustStore::RecoverLocked() {
  return internal::RecoverSubdir(cert_dir_, kServerDir);
}

absl::Status TrustStore::Recover() {
  absl::StatusOr<FileLock> lock = cert_dir_.Lock(kLockFile);
  if (!lock.ok()) return lock.status();
  return RecoverLocked();
}

absl::Status TrustStore::Commit(
    const std::vector<std::pair<std::string, std::string>>& files,
    const std::vector<internal::DirFile>& journal) {
  std::vector<internal::DirFile> generation;
  generation.reserve(files.size() + journal.size());
  for (const auto& [name, contents] : files) {
    generation.push_back(internal::DirFile{name, contents, 0644});
  }
  for (const internal::DirFile& j : journal) generation.push_back(j);
  return internal::ReplaceSubdir(cert_dir_, kServerDir, generation, 0755);
}

absl::StatusOr<TrustStore::LockedSnapshot> TrustStore::LockForEdit(
    bool need_cafile) {
  absl::StatusOr<FileLock> lock = cert_dir_.Lock(kLockFile);
  if (!lock.ok()) return lock.status();
  absl::Status status = RecoverLocked();
  if (!status.ok()) return status;
  absl::StatusOr<Snapshot> snap = ReadSnapshot();
  if (!snap.ok()) return snap.status();
  status = CheckCopyable(snap->uncopyable);
  if (!status.ok()) return status;
  if (need_cafile) {
    status = RequireParsedCAFile(snap->cafile_error);
    if (!status.ok()) return status;
  }
  return LockedSnapshot{*std::move(lock), *std::move(snap)};
}

}  // namespace trustlink::ntl
