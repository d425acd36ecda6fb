#include "htl/internal/files.h"

#include <utility>

namespace trustlink::htl::internal {

absl::Status ValidateFileName(absl::string_view name, absl::string_view what) {
  return ntl::internal::ValidateName(name, what);
}

absl::StatusOr<Dir> Dir::Open(const std::string& path, bool create,
                              mode_t mode) {
  absl::StatusOr<ntl::internal::SafeDir> d =
      ntl::internal::SafeDir::Open(path, create, mode);
  if (!d.ok()) return d.status();
  if (absl::Status s = d->CheckNotWritableByOthers(); !s.ok()) return s;
  return Dir(*std::move(d));
}

absl::StatusOr<Dir> Dir::OpenSubdir(absl::string_view name, bool create,
                                    mode_t mode) const {
  absl::StatusOr<ntl::internal::SafeDir> d =
      dir_.OpenSubdir(name, create, mode);
  if (!d.ok()) return d.status();
  return Dir(*std::move(d));
}

absl::Status Dir::RemoveFile(absl::string_view name) const {
  absl::Status s = dir_.RemoveFile(name);
  return absl::IsNotFound(s) ? absl::OkStatus() : s;
}

}  // namespace trustlink::htl::internal
