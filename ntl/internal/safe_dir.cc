#include "ntl/internal/safe_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ntl/internal/bounded_read.h"
#include "ntl/internal/temp_files.h"
#include "ntl/status.h"

namespace trustlink::ntl::internal {
namespace {

std::string Errno(int err) { return std::strerror(err); }

absl::Status IoError(int err, absl::string_view action,
                     absl::string_view path) {
  std::string message =
      absl::StrCat("cannot ", action, " ", path, ": ", Errno(err));
  if (err == EACCES || err == EPERM) {
    return Error(absl::StatusCode::kPermissionDenied, TL_E_PERMISSION_DENIED,
                 absl::StrCat(message, "; check the owner and permissions"));
  }
  if (err == ENOENT) {
    return Error(absl::StatusCode::kNotFound, TL_E_NOT_FOUND, message);
  }
  if (err == ENOSPC || err == EDQUOT) {
    return Error(absl::StatusCode::kResourceExhausted, TL_E_IO,
                 absl::StrCat(message, "; free some disk space"));
  }
  return Error(absl::StatusCode::kInternal, TL_E_IO, message);
}

absl::Status SymlinkRefused(absl::string_view path) {
  return Error(
      absl::StatusCode::kPermissionDenied, TL_E_PERMISSION_DENIED,
      absl::StrCat(path,
                   " is a symlink or not a directory; trustlink never follows "
                   "links inside its tree. Replace it with a real directory"));
}

absl::Status FileSymlinkRefused(absl::string_view path) {
  return Error(
      absl::StatusCode::kPermissionDenied, TL_E_PERMISSION_DENIED,
      absl::StrCat(
          path,
          " is a symlink; trustlink never follows links inside its tree. "
          "Remove it, or replace it with the real file"));
}

absl::Status WriteAll(int fd, absl::string_view data, absl::string_view path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError(errno, "write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// MakeDirs creates `path` and its missing parents (like mkdir -p).
absl::Status MakeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) return absl::OkStatus();
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) return absl::OkStatus();
  size_t slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    absl::Status parent = MakeDirs(path.substr(0, slash), mode);
    if (!parent.ok()) return parent;
  }
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    return IoError(errno, "create directory", path);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateName(absl::string_view name, absl::string_view what) {
  auto invalid = [&](absl::string_view why) {
    return Error(absl::StatusCode::kInvalidArgument, TL_E_NAME_INVALID,
                 absl::StrCat(what, " '", absl::CHexEscape(name), "' ", why));
  };
  if (name.empty()) return invalid("is empty; give a host name or IP address");
  if (name.size() > kMaxNameLength) {
    return invalid(
        absl::StrCat("is longer than ", kMaxNameLength, " characters"));
  }
  if (name == "." || name == "..")
    return invalid("is not a name; give a host name or IP");
  if (name[0] == '-')
    return invalid("starts with '-'; names may not start with a dash");
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '/') return invalid("contains '/'; a name may not be a path");
    if (u < 0x20 || u == 0x7f)
      return invalid("contains a NUL or control character");
  }
  return absl::OkStatus();
}

namespace {

// OpenFileToRead opens file `name` of the directory `dir_fd` for reading:
// a bad name is refused, and so is a symlink in its place (named as one).
// `path` names the file in errors. The descriptor is the caller's to close.
absl::StatusOr<int> OpenFileToRead(int dir_fd, absl::string_view name,
                                   const std::string& path) {
  absl::Status valid = ValidateName(name, "file name");
  if (!valid.ok()) return valid;
  int fd = ::openat(dir_fd, std::string(name).c_str(),
                    OpenForReadFlags(/*nofollow=*/true));
  if (fd < 0) {
    if (errno == ELOOP) return FileSymlinkRefused(path);
    return IoError(errno, "open", path);
  }
  return fd;
}

}  // namespace

FileLock::FileLock(FileLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)) {}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);
}

absl::StatusOr<SafeDir> SafeDir::Open(const std::string& path, bool create,
                                      mode_t mode) {
  if (path.empty()) {
    return Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                 "directory path is empty");
  }
  if (create) {
    absl::Status made = MakeDirs(path, mode);
    if (!made.ok()) return made;
  }
  int fd =
      ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ELOOP || errno == ENOTDIR) return SymlinkRefused(path);
    return IoError(errno, "open directory", path);
  }
  return SafeDir(fd, path);
}

SafeDir::SafeDir(SafeDir&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

SafeDir& SafeDir::operator=(SafeDir&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

SafeDir::~SafeDir() {
  if (fd_ >= 0) ::close(fd_);
}

std::string SafeDir::PathOf(absl::string_view name) const {
  if (!path_.empty() && path_.back() == '/') return absl::StrCat(path_, name);
  return absl::StrCat(path_, "/", name);
}

absl::StatusOr<SafeDir> SafeDir::OpenSubdir(absl::string_view name, bool create,
                                            mode_t mode) const {
  absl::Status valid = ValidateName(name, "directory name");
  if (!valid.ok()) return valid;
  std::string n(name);
  std::string full = PathOf(name);
  if (create && ::mkdirat(fd_, n.c_str(), mode) != 0 && errno != EEXIST) {
    return IoError(errno, "create directory", full);
  }
  if (create) {
    // A new directory entry must survive a crash before anything inside it is
    // relied on.
    absl::Status synced = SyncDir();
    if (!synced.ok()) return synced;
  }
  int fd =
      ::openat(fd_, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ELOOP || errno == ENOTDIR) return SymlinkRefused(full);
    return IoError(errno, "open directory", full);
  }
  return SafeDir(fd, full);
}

absl::StatusOr<std::string> SafeDir::ReadFd(int fd, absl::string_view name,
                                            size_t max_size) const {
  return ReadBoundedFd(fd, PathOf(name), max_size);
}

absl::StatusOr<std::string> SafeDir::ReadFile(absl::string_view name,
                                              size_t max_size) const {
  absl::StatusOr<int> fd = OpenFileToRead(fd_, name, PathOf(name));
  if (!fd.ok()) return fd.status();
  absl::StatusOr<std::string> out = ReadFd(*fd, name, max_size);
  ::close(*fd);
  return out;
}

absl::StatusOr<std::string> SafeDir::ReadPrivateFile(absl::string_view name,
                                                     size_t max_size) const {
  absl::StatusOr<int> fd = OpenFileToRead(fd_, name, PathOf(name));
  if (!fd.ok()) return fd.status();
  absl::Status mode_ok = CheckPrivateKeyMode(*fd, PathOf(name));
  absl::StatusOr<std::string> out = mode_ok.ok()
                                        ? ReadFd(*fd, name, max_size)
                                        : absl::StatusOr<std::string>(mode_ok);
  ::close(*fd);
  return out;
}

absl::Status SafeDir::CheckNotWritableByOthers() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return IoError(errno, "stat", path_);
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) == 0) return absl::OkStatus();
  return Error(absl::StatusCode::kPermissionDenied, TL_E_PERMISSION_DENIED,
               absl::StrFormat("directory %s has mode %04o: it is writable by "
                               "group or others; run chmod go-w %s",
                               path_, st.st_mode & 07777, path_));
}

absl::Status SafeDir::CheckPrivateKeyPermissions(absl::string_view name) const {
  absl::StatusOr<std::string> contents = ReadPrivateFile(name, 1 << 20);
  return contents.status();
}

absl::Status SafeDir::SyncDir() const {
  if (::fsync(fd_) != 0) return IoError(errno, "fsync directory", path_);
  return absl::OkStatus();
}

absl::Status SafeDir::WriteFileAtomic(absl::string_view name,
                                      absl::string_view contents,
                                      mode_t mode) const {
  absl::Status valid = ValidateName(name, "file name");
  if (!valid.ok()) return valid;
  std::string full = PathOf(name);
  absl::StatusOr<TempFile> temp = CreateTempFile(fd_, path_, name, mode);
  if (!temp.ok()) return temp.status();
  int fd = temp->fd;
  const std::string& tmp = temp->name;
  absl::Status status = WriteAll(fd, contents, full);
  // The umask may have narrowed `mode`; the caller asked for exactly `mode`.
  if (status.ok() && ::fchmod(fd, mode) != 0)
    status = IoError(errno, "chmod", full);
  if (status.ok() && ::fsync(fd) != 0) status = IoError(errno, "fsync", full);
  // Rename while the descriptor (and so the temp file's lock) is still held:
  // until then an orphan sweep must see a live writer.
  if (status.ok() &&
      ::renameat(fd_, tmp.c_str(), fd_, std::string(name).c_str()) != 0) {
    status = IoError(errno, "rename temp file over", full);
  }
  if (!status.ok()) ::unlinkat(fd_, tmp.c_str(), 0);
  ::close(fd);
  if (!status.ok()) return status;
  return SyncDir();
}

absl::Status SafeDir::CreateFileExclusive(absl::string_view name,
                                          absl::string_view contents,
                                          mode_t mode) const {
  absl::Status valid = ValidateName(name, "file name");
  if (!valid.ok()) return valid;
  std::string n(name);
  std::string full = PathOf(name);
  int fd = ::openat(fd_, n.c_str(),
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) {
      return Error(
          absl::StatusCode::kAlreadyExists, TL_E_ALREADY_EXISTS,
          absl::StrCat(full, " already exists; it was not overwritten"));
    }
    return IoError(errno, "create", full);
  }
  absl::Status status = WriteAll(fd, contents, full);
  if (status.ok() && ::fchmod(fd, mode) != 0)
    status = IoError(errno, "chmod", full);
  if (status.ok() && ::fsync(fd) != 0) status = IoError(errno, "fsync", full);
  if (::close(fd) != 0 && status.ok()) status = IoError(errno, "close", full);
  if (!status.ok()) {
    ::unlinkat(fd_, n.c_str(), 0);
    return status;
  }
  return SyncDir();
}

int SafeDir::RemoveOrphanTempFiles() const {
  return internal::RemoveOrphanTempFiles(fd_);
}

absl::Status SafeDir::RemoveFile(absl::string_view name) const {
  absl::Status valid = ValidateName(name, "file name");
  if (!valid.ok()) return valid;
  if (::unlinkat(fd_, std::string(name).c_str(), 0) != 0) {
    return IoError(errno, "remove", PathOf(name));
  }
  return SyncDir();
}

absl::StatusOr<bool> SafeDir::Exists(absl::string_view name) const {
  absl::Status valid = ValidateName(name, "file name");
  if (!valid.ok()) return valid;
  struct stat st;
  if (::fstatat(fd_, std::string(name).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
    return true;
  if (errno == ENOENT) return false;
  return IoError(errno, "stat", PathOf(name));
}

absl::StatusOr<std::vector<std::string>> SafeDir::List() const {
  // fdopendir takes ownership of its descriptor, so give it a duplicate.
  int dup = ::openat(fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dup < 0) return IoError(errno, "open directory", path_);
  DIR* dir = ::fdopendir(dup);
  if (dir == nullptr) {
    int err = errno;
    ::close(dup);
    return IoError(err, "list directory", path_);
  }
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* entry = ::readdir(dir)) {
    absl::string_view n(entry->d_name);
    if (n != "." && n != "..") names.emplace_back(n);
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) return IoError(err, "list directory", path_);
  std::sort(names.begin(), names.end());
  return names;
}

absl::Status SafeDir::AppendDurable(absl::string_view name,
                                    absl::string_view data) const {
  absl::Status valid = ValidateName(name, "file name");
  if (!valid.ok()) return valid;
  const std::string full = PathOf(name);
  int fd =
      ::openat(fd_, std::string(name).c_str(),
               O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == ELOOP) return FileSymlinkRefused(full);
    return IoError(errno, "open", full);
  }
  absl::Status status = WriteAll(fd, data, full);
  if (status.ok() && ::fsync(fd) != 0) status = IoError(errno, "fsync", full);
  ::close(fd);
  return status;
}

absl::StatusOr<FileLock> SafeDir::Lock(absl::string_view name) const {
  return TakeLock(name, F_WRLCK, /*wait=*/true);
}

absl::StatusOr<FileLock> SafeDir::LockShared(absl::string_view name) const {
  return TakeLock(name, F_RDLCK, /*wait=*/true);
}

absl::StatusOr<FileLock> SafeDir::TryLockShared(absl::string_view name) const {
  return TakeLock(name, F_RDLCK, /*wait=*/false);
}

absl::StatusOr<FileLock> SafeDir::TakeLock(absl::string_view name, short type,
                                           bool wait) const {
  absl::Status valid = ValidateName(name, "lock file name");
  if (!valid.ok()) return valid;
  std::string n(name);
  int fd =
      ::openat(fd_, n.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 && type == F_RDLCK &&
      (errno == EACCES || errno == EPERM || errno == EROFS)) {
    fd = ::openat(fd_, n.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return FileLock();
  }
  if (fd < 0) {
    if (errno == ELOOP) return FileSymlinkRefused(PathOf(name));
    return IoError(errno, "open lock file", PathOf(name));
  }
  struct flock fl;
  std::memset(&fl, 0, sizeof(fl));
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  while (::fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    ::close(fd);
    if (!wait && (err == EAGAIN || err == EACCES)) {
      return Error(
          absl::StatusCode::kUnavailable, TL_E_UNAVAILABLE,
          absl::StrCat(PathOf(name),
                       " is held by a writer; try again when it is done"));
    }
    return IoError(err, "lock", PathOf(name));
  }
  return FileLock(fd);
}

absl::Status SafeDir::Exchange(absl::string_view a, absl::string_view b) const {
  absl::Status valid = ValidateName(a, "name");
  if (valid.ok()) valid = ValidateName(b, "name");
  if (!valid.ok()) return valid;
  if (::renameat2(fd_, std::string(a).c_str(), fd_, std::string(b).c_str(),
                  RENAME_EXCHANGE) != 0) {
    if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
      return absl::UnimplementedError(absl::StrCat(
          "the file system of ", path_, " cannot exchange two entries"));
    }
    return IoError(errno, absl::StrCat("exchange ", a, " with"), PathOf(b));
  }
  return SyncDir();
}

absl::Status SafeDir::Rename(absl::string_view from,
                             absl::string_view to) const {
  absl::Status valid = ValidateName(from, "name");
  if (valid.ok()) valid = ValidateName(to, "name");
  if (!valid.ok()) return valid;
  if (::renameat(fd_, std::string(from).c_str(), fd_,
                 std::string(to).c_str()) != 0) {
    return IoError(errno, absl::StrCat("rename ", PathOf(from), " to"),
                   PathOf(to));
  }
  return SyncDir();
}

absl::Status SafeDir::RemoveTree(absl::string_view name) const {
  absl::StatusOr<bool> exists = Exists(name);
  if (!exists.ok()) return exists.status();
  if (!*exists) return absl::OkStatus();
  absl::StatusOr<SafeDir> sub = OpenSubdir(name, false);
  if (!sub.ok()) return sub.status();
  absl::StatusOr<std::vector<std::string>> names = sub->List();
  if (!names.ok()) return names.status();
  for (const std::string& n : *names) {
    if (::unlinkat(sub->fd(), n.c_str(), 0) != 0)
      return IoError(errno, "remove", sub->PathOf(n));
  }
  if (::unlinkat(fd_, std::string(name).c_str(), AT_REMOVEDIR) != 0) {
    return IoError(errno, "remove directory", PathOf(name));
  }
  return SyncDir();
}

}  // namespace trustlink::ntl::internal
