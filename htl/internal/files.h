#ifndef TRUSTLINK_HTL_INTERNAL_FILES_H_
#define TRUSTLINK_HTL_INTERNAL_FILES_H_

// The HTL's view of the shared SafeDir primitive (ntl/internal/safe_dir.h),
// the one home of "files under a root": a directory opened once with
// O_DIRECTORY|O_NOFOLLOW, every operation relative to it, names single
// validated components, atomic replacement, durable appends and OFD locks.
// What Dir adds is HTL policy, not file code: a state directory that group or
// others can write is refused, and removing a missing file is not an error.

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ntl/internal/safe_dir.h"

namespace trustlink::htl::internal {

// ValidateFileName refuses names that are not one plain path component: empty,
// over 253 bytes, containing '/', NUL or control characters, "." and "..", or a
// leading '-'.
absl::Status ValidateFileName(absl::string_view name, absl::string_view what);

// FileLock is the shared OFD lock (Dir::Lock); it serialises HTL state changes
// between processes (ntlsd and ntlsh) and between threads (each lock is its own
// open file description).
using ntl::internal::FileLock;

// Thread safety: a Dir may be used from many threads; each call is independent.
class Dir {
 public:
  // Open opens `path` (creating it with `mode` if `create`) refusing symlinks,
  // and refuses a directory that group or others can write.
  static absl::StatusOr<Dir> Open(const std::string& path, bool create,
                                  mode_t mode = 0700);

  absl::StatusOr<Dir> OpenSubdir(absl::string_view name, bool create,
                                 mode_t mode = 0700) const;
  // ReadFile returns the file's contents; NOT_FOUND when it does not exist.
  absl::StatusOr<std::string> ReadFile(absl::string_view name,
                                       size_t max_size) const {
    return dir_.ReadFile(name, max_size);
  }
  absl::Status WriteFileAtomic(absl::string_view name,
                               absl::string_view contents, mode_t mode) const {
    return dir_.WriteFileAtomic(name, contents, mode);
  }
  // AppendDurable appends `line` and fsyncs (the alert log).
  absl::Status AppendDurable(absl::string_view name,
                             absl::string_view line) const {
    return dir_.AppendDurable(name, line);
  }
  // Lock waits for the write lock on `name` (SafeDir::Lock).
  absl::StatusOr<FileLock> Lock(absl::string_view name) const {
    return dir_.Lock(name);
  }
  // RemoveFile removes `name`; a missing file is not an error.
  absl::Status RemoveFile(absl::string_view name) const;
  absl::StatusOr<bool> Exists(absl::string_view name) const {
    return dir_.Exists(name);
  }
  absl::StatusOr<std::vector<std::string>> List() const { return dir_.List(); }
  const std::string& path() const { return dir_.path(); }
  int fd() const { return dir_.fd(); }
  const ntl::internal::SafeDir& safe_dir() const { return dir_; }

 private:
  explicit Dir(ntl::internal::SafeDir dir) : dir_(std::move(dir)) {}
  ntl::internal::SafeDir dir_;
};

}  // namespace trustlink::htl::internal

#endif  // TRUSTLINK_HTL_INTERNAL_FILES_H_
