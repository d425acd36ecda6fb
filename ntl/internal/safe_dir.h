#ifndef TRUSTLINK_NTL_INTERNAL_SAFE_DIR_H_
#define TRUSTLINK_NTL_INTERNAL_SAFE_DIR_H_

// SafeDir: a directory held open by file descriptor, with every file operation
// relative to that descriptor. Names are single path components checked by
// ValidateName, and nothing follows a symlink (O_NOFOLLOW everywhere), so a
// link planted inside the client root or the appliance's state directory cannot
// redirect a write or a read. Writes are atomic: a temp file, fsync, rename
// over the target, fsync of the directory.

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trustlink::ntl::internal {

// kMaxNameLength is the longest name ValidateName accepts (a DNS name's
// maximum).
inline constexpr size_t kMaxNameLength = 253;

// ValidateName returns OK if `name` can be used as one path component: it is
// not empty, at most kMaxNameLength bytes, has no '/', NUL or control
// characters, is not "." or "..", and does not start with '-' (so it can never
// be read as an option by a tool it is passed to). `what` names the value in
// the error ("server name"). Errors carry TL_E_NAME_INVALID.
absl::Status ValidateName(absl::string_view name, absl::string_view what);

// FileLock is an OFD (open file description) write lock on a lock file. It is
// released when the FileLock is destroyed or its process dies, so a crashed
// process never leaves it held. Thread safety: a FileLock is owned by one
// thread at a time. OFD locks exclude other open file descriptions, so two
// FileLocks on the same file exclude each other even in one process.
class FileLock {
 public:
  FileLock() = default;
  explicit FileLock(int fd) : fd_(fd) {}
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// SafeDir owns a directory descriptor opened with O_DIRECTORY|O_NOFOLLOW.
// Thread safety: the methods are safe to call from many threads at once (each
// is a few *at() system calls on an immutable descriptor); serialise updates
// with Lock().
class SafeDir {
 public:
  // Open opens the directory at `path`. With `create`, missing directories (and
  // parents) are made with `mode`. The last component must be a real directory,
  // not a symlink; earlier components are the caller's choice of root and are
  // resolved normally.
  static absl::StatusOr<SafeDir> Open(const std::string& path, bool create,
                                      mode_t mode = 0700);

  SafeDir(SafeDir&& other) noexcept;
  SafeDir& operator=(SafeDir&& other) noexcept;
  SafeDir(const SafeDir&) = delete;
  SafeDir& operator=(const SafeDir&) = delete;
  ~SafeDir();

  // OpenSubdir opens (with `create`, first makes) the subdirectory `name`. A
  // symlink in its place is refused with TL_E_PERMISSION_DENIED and a message
  // saying to replace it.
  absl::StatusOr<SafeDir> OpenSubdir(absl::string_view name, bool create,
                                     mode_t mode = 0700) const;

  // ReadFile returns the contents of the regular file `name`; NOT_FOUND if it
  // is missing, an error if it is a symlink, not a regular file (a FIFO is
  // refused at once, never waited on) or larger than `max_size`. See
  // bounded_read.h.
  absl::StatusOr<std::string> ReadFile(absl::string_view name,
                                       size_t max_size) const;

  // ReadPrivateFile is ReadFile for a private key: it also refuses the file if
  // group or others have any permission on it (checked on the open descriptor,
  // so the file checked is the file read). The error carries
  // TL_E_KEY_PERMISSIONS and the chmod to run.
  absl::StatusOr<std::string> ReadPrivateFile(absl::string_view name,
                                              size_t max_size) const;

  // WriteFileAtomic replaces (or creates) `name` with `contents` and
  // permissions `mode`: a temp file made with O_EXCL, written, fsynced, renamed
  // over `name`, then the directory fsynced. Readers see the old file or the
  // new one, never a mix, even across a crash.
  absl::Status WriteFileAtomic(absl::string_view name,
                               absl::string_view contents, mode_t mode) const;

  // CreateFileExclusive creates `name` with O_CREAT|O_EXCL|O_NOFOLLOW and
  // `mode`, writes and fsyncs it. ALREADY_EXISTS if the name is taken (by
  // anything, a symlink included).
  absl::Status CreateFileExclusive(absl::string_view name,
                                   absl::string_view contents,
                                   mode_t mode) const;

  // RemoveOrphanTempFiles removes the temp files that killed writers left in
  // this directory (never a live writer's; see temp_files.h) and returns how
  // many it removed.
  int RemoveOrphanTempFiles() const;

  // RemoveFile unlinks `name` and fsyncs the directory. NOT_FOUND if it is
  // missing.
  absl::Status RemoveFile(absl::string_view name) const;

  // Exists reports whether anything (a symlink included) is called `name`.
  absl::StatusOr<bool> Exists(absl::string_view name) const;

  // List returns the names in the directory, sorted, without "." and "..".
  absl::StatusOr<std::vector<std::string>> List() const;

  // AppendDurable appends `data` to `name` (created 0600 if missing) and
  // fsyncs it, for logs that must survive a crash line by line. A symlink in
  // its place is refused.
  absl::Status AppendDurable(absl::string_view name,
                             absl::string_view data) const;

  // Lock takes an OFD write lock on the lock file `name` (created 0600 if
  // missing), waiting as long as another holder keeps it. A symlink in its
  // place is refused with TL_E_PERMISSION_DENIED.
  absl::StatusOr<FileLock> Lock(absl::string_view name) const;

  // LockShared takes an OFD read lock on `name`: many readers may hold it at
  // once, and none while a writer holds Lock. A reader who may not create the
  // lock file gets an unheld FileLock (and should cope with concurrent writers
  // some other way).
  absl::StatusOr<FileLock> LockShared(absl::string_view name) const;
  // TryLockShared is LockShared without the wait: UNAVAILABLE while a writer
  // holds the lock. For threads that must never wait on another process.
  absl::StatusOr<FileLock> TryLockShared(absl::string_view name) const;

  // Exchange swaps the entries `a` and `b` (both must exist) in one atomic step
  // (renameat2 RENAME_EXCHANGE). UNIMPLEMENTED if the file system cannot do
  // that.
  absl::Status Exchange(absl::string_view a, absl::string_view b) const;

  // Rename renames `from` to `to` (replacing `to` if it is a file or an empty
  // directory), then fsyncs the directory.
  absl::Status Rename(absl::string_view from, absl::string_view to) const;

  // RemoveTree removes the subdirectory `name` and the files in it (one level
  // only; a nested directory is an error). Missing is OK. Symlinks inside are
  // unlinked, not followed.
  absl::Status RemoveTree(absl::string_view name) const;

  // Sync fsyncs the directory itself.
  absl::Status Sync() const { return SyncDir(); }

  // CheckNotWritableByOthers refuses the directory itself if group or others
  // can write it (checked on the open descriptor): another user could then
  // swap the files in it. One rule for every state directory (the appliance
  // root for ntlsd and ntlsh alike, the HTL's runtime directory).
  absl::Status CheckNotWritableByOthers() const;

  // CheckPrivateKeyPermissions refuses `name` if group or others have any
  // permission on it.
  absl::Status CheckPrivateKeyPermissions(absl::string_view name) const;

  // path is the path the directory was opened by, for messages.
  const std::string& path() const { return path_; }
  // PathOf is path() + "/" + name, for messages and for printing to users.
  std::string PathOf(absl::string_view name) const;
  // fd is the directory descriptor, owned by this SafeDir.
  int fd() const { return fd_; }

 private:
  SafeDir(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  absl::StatusOr<std::string> ReadFd(int fd, absl::string_view name,
                                     size_t max_size) const;
  absl::Status SyncDir() const;
  // TakeLock is Lock, LockShared and TryLockShared: an OFD lock of
  // `type` (F_WRLCK or F_RDLCK), waiting for it if `wait`.
  absl::StatusOr<FileLock> TakeLock(absl::string_view name, short type,
                                    bool wait) const;

  int fd_ = -1;
  std::string path_;
};

}  // namespace trustlink::ntl::internal

#endif  // TRUSTLINK_NTL_INTERNAL_SAFE_DIR_H_
