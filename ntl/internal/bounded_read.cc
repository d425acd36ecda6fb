#include "ntl/internal/bounded_read.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ntl/status.h"

namespace trustlink::ntl::internal {
namespace {

const char* KindOf(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

absl::Status OpenError(int err, absl::string_view path) {
  std::string message =
      absl::StrCat("cannot open ", path, ": ", std::strerror(err));
  if (err == ENOENT) {
    return Error(absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
                 absl::StrCat(message, "; check the path"));
  }
  if (err == EACCES || err == EPERM) {
    return Error(absl::StatusCode::kPermissionDenied, TL_E_PERMISSION_DENIED,
                 absl::StrCat(message, "; check the owner and permissions"));
  }
  if (err == ELOOP) {
    return Error(absl::StatusCode::kPermissionDenied, TL_E_PERMISSION_DENIED,
                 absl::StrCat(path,
                              " is a symlink, and trustlink does not follow "
                              "links here; give the real file"));
  }
  return Error(absl::StatusCode::kInternal, TL_E_IO, message);
}

}  // namespace

int OpenForReadFlags(bool nofollow) {
  return O_RDONLY | O_CLOEXEC | O_NONBLOCK | (nofollow ? O_NOFOLLOW : 0);
}

absl::StatusOr<std::string> ReadBoundedFd(int fd, absl::string_view path,
                                          size_t max_size) {
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    return Error(
        absl::StatusCode::kInternal, TL_E_IO,
        absl::StrCat("cannot stat ", path, ": ", std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return Error(absl::StatusCode::kFailedPrecondition, TL_E_INVALID_ARGUMENT,
                 absl::StrCat(path, " is ", KindOf(st.st_mode),
                              ", not a regular file; give a regular file"));
  }
  if (st.st_size < 0 || static_cast<size_t>(st.st_size) > max_size) {
    return Error(absl::StatusCode::kOutOfRange, TL_E_OUT_OF_RANGE,
                 absl::StrCat(path, " is ", st.st_size,
                              " bytes, more than the limit of ", max_size,
                              "; it is not the file trustlink expects"));
  }
  std::string out;
  out.reserve(static_cast<size_t>(st.st_size));
  char buf[8192];
  for (;;) {
    // Never ask for more than one byte past the cap: that byte is enough to
    // tell that the file grew past it.
    size_t want = std::min(sizeof(buf), max_size + 1 - out.size());
    ssize_t n = ::read(fd, buf, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error(
          absl::StatusCode::kInternal, TL_E_IO,
          absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_size) {
      return Error(
          absl::StatusCode::kOutOfRange, TL_E_OUT_OF_RANGE,
          absl::StrCat(path, " grew past the limit of ", max_size, " bytes"));
    }
  }
  return out;
}

absl::Status CheckPrivateKeyMode(int fd, absl::string_view path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    return Error(
        absl::StatusCode::kInternal, TL_E_IO,
        absl::StrCat("cannot stat ", path, ": ", std::strerror(errno)));
  }
  if ((st.st_mode & 077) == 0) return absl::OkStatus();
  return Error(absl::StatusCode::kPermissionDenied, TL_E_KEY_PERMISSIONS,
               absl::StrFormat("private key %s has mode %04o: group or others "
                               "can access it; run: chmod 600 %s",
                               path, st.st_mode & 07777, path));
}

absl::StatusOr<std::string> ReadBoundedFile(const std::string& path,
                                            size_t max_size, bool nofollow,
                                            bool private_key) {
  int fd = ::open(path.c_str(), OpenForReadFlags(nofollow));
  if (fd < 0) return OpenError(errno, path);
  absl::Status mode_ok =
      private_key ? CheckPrivateKeyMode(fd, path) : absl::OkStatus();
  if (!mode_ok.ok()) {
    ::close(fd);
    return mode_ok;
  }
  absl::StatusOr<std::string> out = ReadBoundedFd(fd, path, max_size);
  ::close(fd);
  return out;
}

}  // namespace trustlink::ntl::internal
