#ifndef TRUSTLINK_HTL_INTERNAL_FILES_H_
#define TRUSTLINK_HTL_INTERNAL_FILES_H_

// The HTL's view of the shared SafeDir primitive (ntl/internal/safe_dir.h): a
// directory opened once with O_DIRECTORY|O_NOFOLLOW, every operation relative
// to it, names single validated components, and atomic replacement (temp file,
// fsync, rename, fsync of the directory), so a crash leaves either the old or
// the new contents. It adds what the HTL needs on top: a refusal of
// group/world-writable state directories, durable appends (the alert log),
// idempotent removal, and a non-blocking lock (one agent per runtime dir).

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
                             absl::string_view line) const;
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

// FileLock holds an OFD write lock on a file until destroyed; it serialises HTL
// state changes between processes (ntlsd and ntlsh) and between threads (each
// lock is its own open file description).
class FileLock {
 public:
  static absl::StatusOr<FileLock> Acquire(const Dir& dir,
                                          absl::string_view name);
  // TryAcquire returns UNAVAILABLE at once when another holder has the lock.
  static absl::StatusOr<FileLock> TryAcquire(const Dir& dir,
                                             absl::string_view name);
  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&&) = delete;
  FileLock(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace trustlink::htl::internal

#endif  // TRUSTLINK_HTL_INTERNAL_FILES_H_
