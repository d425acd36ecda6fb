#include "ntl/identity_dir.h"

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
                                  const std::vector<DirFile>& journal) {
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
  return internal::ReplaceSubdir(parent, subdir, files, 0755);
}

}  // namespace trustlink::ntl
