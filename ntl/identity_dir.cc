#include "ntl/identity_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "ntl/status.h"

namespace trustlink::ntl {

using internal::DirFile;
using internal::SafeDir;

absl::Status ReplaceIdentityInDir(const SafeDir& parent,
                                  absl::string_view subdir,
                                  absl::string_view cert_name,
                                  absl::string_view key_name,
                                  const Identity& identity, bool force,
                                  const std::vector<DirFile>& journal,
                                  mode_t dir_mode) {
  absl::Status valid = internal::ValidateName(cert_name, "certificate file");
  if (valid.ok()) valid = internal::ValidateName(key_name, "key file");
  if (!valid.ok()) return valid;
  absl::StatusOr<std::string> key_pem = PrivateKeyToPem(identity.key.get());
  if (!key_pem.ok()) return key_pem.status();

  std::vector<DirFile> files;
  absl::StatusOr<bool> exists = parent.Exists(subdir);
  if (!exists.ok()) return exists.status();
  if (*exists) {
    absl::StatusOr<SafeDir> current = parent.OpenSubdir(subdir, false);
    if (!current.ok()) return current.status();
    absl::StatusOr<std::vector<DirFile>> kept =
        internal::ReadGeneration(*current, kMaxPemFileSize);
    if (!kept.ok()) return kept.status();
    for (DirFile& f : *kept) {
      if (f.name == cert_name || f.name == key_name) {
        if (!force) {
          return Error(
              absl::StatusCode::kAlreadyExists, TL_E_ALREADY_EXISTS,
              absl::StrCat(
                  current->PathOf(f.name),
                  " already exists; nothing was written. Pass force to "
                  "replace the identity (the appliance must then register "
                  "the new certificate)"));
        }
        continue;
      }
      files.push_back(std::move(f));
    }
  }
  files.push_back(DirFile{std::string(key_name), *std::move(key_pem), 0600});
  files.push_back(DirFile{std::string(cert_name), identity.cert.Pem(), 0644});
  for (const DirFile& j : journal) files.push_back(j);
  return internal::ReplaceSubdir(parent, subdir, files, dir_mode);
}

namespace {

// SplitDirPath returns `path` as (parent, last component). "." and ".." and a
// bare "/" have no name of their own to swap, so they are resolved first.
absl::Status SplitDirPath(const std::string& path, std::string* parent,
                          std::string* base) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  std::string last = p.substr(p.rfind('/') + 1);
  if (last.empty() || last == "." || last == "..") {
    char resolved[PATH_MAX];
    if (::realpath(p.c_str(), resolved) == nullptr) {
      return Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                   absl::StrCat("cannot resolve directory '", path,
                                "': ", strerror(errno)));
    }
    p = resolved;
    last = p.substr(p.rfind('/') + 1);
  }
  if (last.empty()) {
    return Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                 absl::StrCat("cannot replace an identity in '", path,
                              "' as one step; give it a directory of its own"));
  }
  const size_t slash = p.rfind('/');
  *parent = slash == std::string::npos ? "."
            : slash == 0               ? "/"
                                       : p.substr(0, slash);
  *base = last;
  return internal::ValidateName(last, "identity directory");
}

}  // namespace

absl::Status ReplaceIdentityAtPath(const std::string& path,
                                   absl::string_view cert_name,
                                   absl::string_view key_name,
                                   const Identity& identity) {
  std::string parent_path, name;
  absl::Status status = SplitDirPath(path, &parent_path, &name);
  if (!status.ok()) return status;
  absl::StatusOr<SafeDir> parent = SafeDir::Open(parent_path, true, 0755);
  if (!parent.ok()) return parent.status();
  absl::StatusOr<internal::FileLock> lock =
      parent->Lock(absl::StrCat(".", name, ".lock"));
  if (!lock.ok()) return lock.status();
  status = internal::RecoverSubdir(*parent, name);
  if (!status.ok()) return status;
  mode_t mode = 0755;
  struct stat st;
  if (::fstatat(parent->fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return Error(absl::StatusCode::kFailedPrecondition, TL_E_IO,
                   absl::StrCat(parent->PathOf(name),
                                " is not a directory; give a directory"));
    }
    mode = st.st_mode & 07777;
  }
  return ReplaceIdentityInDir(*parent, name, cert_name, key_name, identity,
                              /*force=*/true, {}, mode);
}

}  // namespace trustlink::ntl
