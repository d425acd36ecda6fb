#include "examples/ntlsd/instance_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

namespace ntlsd {
namespace {

struct flock WholeFile(short type) {
  struct flock fl = {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  return fl;  // l_start 0, l_len 0: the whole file
}

pid_t ReadPid(int fd) {
  char buf[32] = {};
  const ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  return n > 0 ? static_cast<pid_t>(atoi(buf)) : 0;
}

}  // namespace

std::string LockPath(const std::string& root) { return root + "/ntlsd.lock"; }

InstanceLock::~InstanceLock() {
  if (fd_ >= 0) {
    close(fd_);
  }
}

bool InstanceLock::Acquire(const std::string& root, std::string* error) {
  const std::string path = LockPath(root);
  // O_NOFOLLOW: a file under the root is never followed through a symlink.
  const int fd =
      open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    *error = "cannot open the instance lock " + path + ": " + strerror(errno);
    return false;
  }
  struct flock fl = WholeFile(F_WRLCK);
  if (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
    const int e = errno;
    const pid_t pid = ReadPid(fd);
    close(fd);
    if (e != EAGAIN && e != EACCES) {
      *error = "cannot lock " + path + ": " + strerror(e);
      return false;
    }
    *error = "another ntlsd" +
             (pid > 0 ? " (pid " + std::to_string(pid) + ")" : std::string()) +
             " already serves " + root + " (it holds " + path +
             "); stop it first (ntlsh service stop ntls), or give this one "
             "another --root";
    return false;
  }
  fd_ = fd;
  return true;
}

void InstanceLock::RecordPid(pid_t pid) {
  if (fd_ < 0) {
    return;
  }
  const std::string text = std::to_string(pid) + "\n";
  if (ftruncate(fd_, 0) == 0) {
    ssize_t ignored = pwrite(fd_, text.data(), text.size(), 0);
    (void)ignored;
  }
}

LockState ProbeLock(const std::string& root, pid_t* pid, std::string* error) {
  const std::string path = LockPath(root);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) {
      return LockState::kFree;  // no ntlsd ever served this root
    }
    *error = "cannot read " + path + ": " + strerror(errno) +
             " (only root and the owner of the root may manage its ntlsd)";
    return LockState::kUnknown;
  }
  struct flock fl = WholeFile(F_WRLCK);
  if (fcntl(fd, F_OFD_GETLK, &fl) != 0) {
    *error = "cannot test the lock " + path + ": " + strerror(errno);
    close(fd);
    return LockState::kUnknown;
  }
  const bool held = fl.l_type != F_UNLCK;
  *pid = held ? ReadPid(fd) : 0;
  close(fd);
  return held ? LockState::kHeld : LockState::kFree;
}

}  // namespace ntlsd
