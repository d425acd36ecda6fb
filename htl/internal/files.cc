#include "htl/internal/files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "htl/crypto.h"
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
  return ntl::Error(canonical, code, absl::StrCat(what, ": ", std::strerror(err)));
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
  auto bad = [&](absl::string_view why) {
    return ntl::Error(absl::StatusCode::kInvalidArgument, TL_E_NAME_INVALID,
                      absl::StrCat(what, " '", name, "' ", why));
  };
  if (name.empty()) return bad("is empty");
  if (name.size() > 253) return bad("is longer than 253 bytes");
  if (name == "." || name == "..") return bad("is not a file name");
  if (name[0] == '-') return bad("starts with '-'");
  for (char c : name) {
    if (c == '/' || c == '\0' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return bad("contains '/' or a control character");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Dir> Dir::Open(const std::string& path, bool create, mode_t mode) {
  if (create && ::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    return Errno(absl::StrCat("cannot create directory ", path), errno);
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return Errno(absl::StrCat("cannot open directory ", path), errno);
  }
  Dir dir(fd, path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    return Errno(absl::StrCat("cannot stat ", path), errno);
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return ntl::Error(absl::StatusCode::kPermissionDenied, TL_E_PERMISSION_DENIED,
                      absl::StrCat("directory ", path,
                                   " is writable by group or others; run chmod go-w ", path));
  }
  return dir;
}

Dir::Dir(Dir&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) {
  other.fd_ = -1;
}

Dir& Dir::operator=(Dir&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

Dir::~Dir() {
  if (fd_ >= 0) ::close(fd_);
}

absl::StatusOr<Dir> Dir::OpenSubdir(absl::string_view name, bool create, mode_t mode) const {
  if (absl::Status s = ValidateFileName(name, "directory name"); !s.ok()) return s;
  const std::string n(name);
  const std::string full = absl::StrCat(path_, "/", name);
  if (create && ::mkdirat(fd_, n.c_str(), mode) != 0 && errno != EEXIST) {
    return Errno(absl::StrCat("cannot create directory ", full), errno);
  }
  const int fd = ::openat(fd_, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return Errno(absl::StrCat("cannot open directory ", full), errno);
  }
  return Dir(fd, full);
}

absl::StatusOr<std::string> Dir::ReadFile(absl::string_view name, size_t max_size) const {
  if (absl::Status s = ValidateFileName(name, "file name"); !s.ok()) return s;
  const std::string full = absl::StrCat(path_, "/", name);
  const int fd = ::openat(fd_, std::string(name).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return Errno(absl::StrCat("cannot open ", full), errno);
  }
  std::string out;
  char buf[4096];
  absl::Status status;
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      status = Errno(absl::StrCat("cannot read ", full), errno);
      break;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_size) {
      status = ntl::Error(absl::StatusCode::kResourceExhausted, TL_E_PARSE,
                          absl::StrCat(full, " is larger than ", max_size, " bytes"));
      break;
    }
  }
  ::close(fd);
  if (!status.ok()) return status;
  return out;
}

absl::Status Dir::WriteFileAtomic(absl::string_view name, absl::string_view contents,
                                  mode_t mode) const {
  if (absl::Status s = ValidateFileName(name, "file name"); !s.ok()) return s;
  const std::string temp = absl::StrCat(".tmp.", HexEncode(RandomBytes(8)));
  const int fd = ::openat(fd_, temp.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) {
    return Errno(absl::StrCat("cannot create a temporary file in ", path_), errno);
  }
  absl::Status status = WriteAll(fd, contents);
  if (status.ok() && ::fchmod(fd, mode) != 0) status = Errno("fchmod", errno);
  if (status.ok() && ::fsync(fd) != 0) status = Errno("fsync", errno);
  ::close(fd);
  if (status.ok() && ::renameat(fd_, temp.c_str(), fd_, std::string(name).c_str()) != 0) {
    status = Errno(absl::StrCat("cannot replace ", path_, "/", name), errno);
  }
  if (!status.ok()) {
    ::unlinkat(fd_, temp.c_str(), 0);
    return status;
  }
  if (::fsync(fd_) != 0) {
    return Errno(absl::StrCat("fsync of directory ", path_), errno);
  }
  return absl::OkStatus();
}

absl::Status Dir::AppendDurable(absl::string_view name, absl::string_view line) const {
  if (absl::Status s = ValidateFileName(name, "file name"); !s.ok()) return s;
  const int fd = ::openat(fd_, std::string(name).c_str(),
                          O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Errno(absl::StrCat("cannot open ", path_, "/", name), errno);
  }
  absl::Status status = WriteAll(fd, line);
  if (status.ok() && ::fsync(fd) != 0) status = Errno("fsync", errno);
  ::close(fd);
  return status;
}

absl::Status Dir::RemoveFile(absl::string_view name) const {
  if (absl::Status s = ValidateFileName(name, "file name"); !s.ok()) return s;
  if (::unlinkat(fd_, std::string(name).c_str(), 0) != 0 && errno != ENOENT) {
    return Errno(absl::StrCat("cannot remove ", path_, "/", name), errno);
  }
  if (::fsync(fd_) != 0) {
    return Errno(absl::StrCat("fsync of directory ", path_), errno);
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> Dir::Exists(absl::string_view name) const {
  if (absl::Status s = ValidateFileName(name, "file name"); !s.ok()) return s;
  struct stat st;
  if (::fstatat(fd_, std::string(name).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return true;
  if (errno == ENOENT) return false;
  return Errno(absl::StrCat("cannot stat ", path_, "/", name), errno);
}

absl::StatusOr<std::vector<std::string>> Dir::List() const {
  const int fd = ::openat(fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno(absl::StrCat("cannot list ", path_), errno);
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return Errno(absl::StrCat("cannot list ", path_), errno);
  }
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    const absl::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    names.emplace_back(n);
  }
  ::closedir(d);
  return names;
}

namespace {
absl::StatusOr<int> OpenLockFile(const Dir& dir, absl::string_view name) {
  if (absl::Status s = ValidateFileName(name, "lock file name"); !s.ok()) return s;
  const int fd = ::openat(dir.fd(), std::string(name).c_str(),
                          O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Errno(absl::StrCat("cannot open lock ", dir.path(), "/", name), errno);
  return fd;
}
}  // namespace

absl::StatusOr<FileLock> FileLock::Acquire(const Dir& dir, absl::string_view name) {
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

absl::StatusOr<FileLock> FileLock::TryAcquire(const Dir& dir, absl::string_view name) {
  absl::StatusOr<int> fd = OpenLockFile(dir, name);
  if (!fd.ok()) return fd.status();
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (::fcntl(*fd, F_OFD_SETLK, &fl) != 0) {
    const int err = errno;
    ::close(*fd);
    if (err == EAGAIN || err == EACCES) {
      return ntl::Error(absl::StatusCode::kUnavailable, TL_E_UNAVAILABLE,
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
