#include "ntl/internal/temp_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ntl/status.h"

namespace trustlink::ntl::internal {
namespace {

constexpr absl::string_view kTempMark = ".tmp.";

bool AllOf(absl::string_view s, bool (*pred)(unsigned char)) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!pred(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// WriterAlive reports whether `pid` may still be writing: true unless the
// kernel says no such process exists.
bool WriterAlive(pid_t pid) {
  if (pid == ::getpid()) return true;  // Another thread of ours may be.
  return ::kill(pid, 0) == 0 || errno != ESRCH;
}

// Unlocked reports whether nobody holds a lock on the file `name`.
bool Unlocked(int dirfd, const char* name) {
  int fd =
      ::openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock fl;
  std::memset(&fl, 0, sizeof(fl));
  fl.l_type = F_RDLCK;
  fl.l_whence = SEEK_SET;
  bool free = ::fcntl(fd, F_OFD_SETLK, &fl) == 0;
  ::close(fd);
  return free;
}

}  // namespace

absl::StatusOr<TempFile> CreateTempFile(int dirfd, absl::string_view dir_path,
                                        absl::string_view target, mode_t mode) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  TempFile temp;
  // The temp name must fit NAME_MAX whatever the target's length: the marks,
  // a pid of up to 10 digits and 16 hex digits take 33 of its 255 bytes, so a
  // longer target is cut (the name only has to be unique and recognisable).
  constexpr size_t kMaxTargetInName = NAME_MAX - 33;
  temp.name =
      absl::StrFormat(".%s.tmp.%d.%016x", target.substr(0, kMaxTargetInName),
                      ::getpid(), rng());
  temp.fd = ::openat(dirfd, temp.name.c_str(),
                     O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (temp.fd < 0) {
    int err = errno;
    return Error(
        err == ENOSPC || err == EDQUOT  ? absl::StatusCode::kResourceExhausted
        : err == EACCES || err == EPERM ? absl::StatusCode::kPermissionDenied
                                        : absl::StatusCode::kInternal,
        err == EACCES || err == EPERM ? TL_E_PERMISSION_DENIED : TL_E_IO,
        absl::StrCat("cannot create a temp file for ", dir_path, "/", target,
                     ": ", std::strerror(err),
                     err == EACCES || err == EPERM
                         ? "; check the owner and permissions"
                         : ""));
  }
  struct flock fl;
  std::memset(&fl, 0, sizeof(fl));
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  // A fresh O_EXCL file nobody else has opened: the lock cannot be contended.
  // Without OFD locks (an old kernel) the pid in the name still protects it.
  (void)::fcntl(temp.fd, F_OFD_SETLK, &fl);
  return temp;
}

std::optional<pid_t> TempFileWriter(absl::string_view name) {
  size_t mark = name.rfind(kTempMark);
  if (mark == absl::string_view::npos || mark == 0) return std::nullopt;
  absl::string_view rest = name.substr(mark + kTempMark.size());
  absl::string_view pid_text = rest;
  size_t dot = rest.find('.');
  if (dot != absl::string_view::npos) {
    pid_text = rest.substr(0, dot);
    if (!AllOf(rest.substr(dot + 1), absl::ascii_isxdigit)) return std::nullopt;
  }
  int64_t pid = 0;
  if (!AllOf(pid_text, absl::ascii_isdigit) ||
      !absl::SimpleAtoi(pid_text, &pid) || pid <= 0 || pid > INT32_MAX) {
    return std::nullopt;
  }
  return static_cast<pid_t>(pid);
}

int RemoveOrphanTempFiles(int dirfd) {
  int dup = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dup < 0) return 0;
  DIR* dir = ::fdopendir(dup);
  if (dir == nullptr) {
    ::close(dup);
    return 0;
  }
  std::vector<std::string> orphans;
  while (struct dirent* entry = ::readdir(dir)) {
    std::optional<pid_t> pid = TempFileWriter(entry->d_name);
    if (pid.has_value() && !WriterAlive(*pid))
      orphans.emplace_back(entry->d_name);
  }
  ::closedir(dir);
  int removed = 0;
  for (const std::string& name : orphans) {
    if (Unlocked(dirfd, name.c_str()) &&
        ::unlinkat(dirfd, name.c_str(), 0) == 0) {
      ++removed;
    }
  }
  if (removed > 0) (void)::fsync(dirfd);
  return removed;
}

}  // namespace trustlink::ntl::internal
