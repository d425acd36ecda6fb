#include "htl/internal/files.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "ntl/status.h"

namespace trustlink::htl::internal {
namespace {

absl::Status Errno(absl::string_view what, int err) {
  tl_status code = TL_E_IO;
  absl::StatusCode canonical = absl::StatusCode::kInternal;
  if (err == ENOENT) {
    code = TL_E_NOT_FOUND;
    canonical = absl::StatusCode::kNotFound;
  } else if (err == EACCES || err == EPERM || err == ELOOP) {
    code = TL_E_PERMISSION_DENIED;
    canonical = absl::StatusCode::kPermissionDenied;
  }
  return ntl::Error(canonical, code,
                    absl::StrCat(what, ": ", std::strerror(err)));
}

absl::Status WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write", errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace

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

absl::Status Dir::AppendDurable(absl::string_view name,
                                absl::string_view line) const {
  if (absl::Status s = ValidateFileName(name, "file name"); !s.ok()) return s;
  const int file =
      ::openat(dir_.fd(), std::string(name).c_str(),
               O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (file < 0) {
    return Errno(absl::StrCat("cannot open ", path(), "/", name), errno);
  }
  absl::Status status = WriteAll(file, line);
  if (status.ok() && ::fsync(file) != 0) status = Errno("fsync", errno);
  ::close(file);
  return status;
}

absl::Status Dir::RemoveFile(absl::string_view name) const {
  absl::Status s = dir_.RemoveFile(name);
  return absl::IsNotFound(s) ? absl::OkStatus() : s;
}

namespace {
absl::StatusOr<int> OpenLockFile(const Dir& dir, absl::string_view name) {
  if (absl::Status s = ValidateFileName(name, "lock file name"); !s.ok())
    return s;
  const int fd = ::openat(dir.fd(), std::string(name).c_str(),
                          O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return Errno(absl::StrCat("cannot open lock ", dir.path(), "/", name),
                 errno);
  return fd;
}
}  // namespace

absl::StatusOr<FileLock> FileLock::Acquire(const Dir& dir,
                                           absl::string_view name) {
  absl::StatusOr<int> fd = OpenLockFile(dir, name);
  if (!fd.ok()) return fd.status();
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  while (::fcntl(*fd, F_OFD_SETLKW, &fl) != 0) {
    if (errno == EINTR) continue;
    const int err = errno;
    ::close(*fd);
    return Errno(absl::StrCat("cannot lock ", dir.path(), "/", name), err);
  }
  return FileLock(*fd);
}

absl::StatusOr<FileLock> FileLock::TryAcquire(const Dir& dir,
                                              absl::string_view name) {
  absl::StatusOr<int> fd = OpenLockFile(dir, name);
  if (!fd.ok()) return fd.status();
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (::fcntl(*fd, F_OFD_SETLK, &fl) != 0) {
    const int err = errno;
    ::close(*fd);
    if (err == EAGAIN || err == EACCES) {
      return ntl::Error(
          absl::StatusCode::kUnavailable, TL_E_UNAVAILABLE,
          absl::StrCat(dir.path(), "/", name, " is locked by another process"));
    }
    return Errno(absl::StrCat("cannot lock ", dir.path(), "/", name), err);
  }
  return FileLock(*fd);
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace trustlink::htl::internal
