#include "ntl/internal/dir_swap.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ntl/internal/temp_files.h"
#include "ntl/status.h"

namespace trustlink::ntl::internal {
namespace {

std::string NextName(absl::string_view name) {
  return absl::StrCat(".", name, ".next");
}
std::string PrevName(absl::string_view name) {
  return absl::StrCat(".", name, ".prev");
}

}  // namespace

bool IsJournalName(absl::string_view name) {
  return absl::StartsWith(name, kJournalPrefix);
}

absl::Status RecoverSubdir(const SafeDir& parent, absl::string_view name) {
  std::string prev = PrevName(name);
  absl::StatusOr<bool> has_dir = parent.Exists(name);
  if (!has_dir.ok()) return has_dir.status();
  absl::StatusOr<bool> has_prev = parent.Exists(prev);
  if (!has_prev.ok()) return has_prev.status();
  if (!*has_dir && *has_prev) {
    // A fallback swap died between its two renames: the old generation is
    // whole in .prev, the new one may not be; go back to the old.
    absl::Status back = parent.Rename(prev, name);
    if (!back.ok()) return back;
  }
  absl::Status status = parent.RemoveTree(NextName(name));
  if (!status.ok()) return status;
  return parent.RemoveTree(prev);
}

absl::Status ReplaceSubdir(const SafeDir& parent, absl::string_view name,
                           const std::vector<DirFile>& files, mode_t dir_mode) {
  std::string next_name = NextName(name);
  absl::Status status = parent.RemoveTree(next_name);
  if (!status.ok()) return status;
  absl::StatusOr<SafeDir> next = parent.OpenSubdir(next_name, true, dir_mode);
  if (!next.ok()) return next.status();
  // mkdir's mode is narrowed by the umask; the directory must read as asked.
  (void)::fchmod(next->fd(), dir_mode);
  for (const DirFile& f : files) {
    status = next->CreateFileExclusive(f.name, f.contents, f.mode);
    if (!status.ok()) return status;
  }
  absl::StatusOr<bool> has_dir = parent.Exists(name);
  if (!has_dir.ok()) return has_dir.status();
  if (!*has_dir) return parent.Rename(next_name, name);
  status = parent.Exchange(next_name, name);
  if (status.code() == absl::StatusCode::kUnimplemented) {
    std::string prev = PrevName(name);
    status = parent.Rename(name, prev);
    if (!status.ok()) return status;
    status = parent.Rename(next_name, name);
    if (!status.ok()) return status;
    return parent.RemoveTree(prev);
  }
  if (!status.ok()) return status;
  // next_name now holds the replaced generation.
  return parent.RemoveTree(next_name);
}

absl::StatusOr<std::vector<DirFile>> ReadGeneration(const SafeDir& dir,
                                                    size_t max_size) {
  absl::StatusOr<std::vector<std::string>> names = dir.List();
  if (!names.ok()) return names.status();
  std::vector<DirFile> files;
  for (const std::string& n : *names) {
    if (IsJournalName(n) || TempFileWriter(n).has_value()) continue;
    struct stat st;
    if (::fstatat(dir.fd(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      continue;  // Gone since the listing.
    }
    absl::StatusOr<std::string> contents = dir.ReadFile(n, max_size);
    if (!contents.ok()) {
      return Error(
          absl::StatusCode::kFailedPrecondition, TL_E_IO,
          absl::StrCat(contents.status().message(), "; nothing in ", dir.path(),
                       " was changed. Move that entry out and try "
                       "again"));
    }
    files.push_back(DirFile{n, *std::move(contents), st.st_mode & 07777});
  }
  return files;
}

}  // namespace trustlink::ntl::internal
