#ifndef TRUSTLINK_EXAMPLES_NTLSD_INSTANCE_LOCK_H_
#define TRUSTLINK_EXAMPLES_NTLSD_INSTANCE_LOCK_H_

// One ntlsd per appliance root: an exclusive lock on <root>/ntlsd.lock, held
// for the daemon's life. Two daemons on one root would both record an HTL boot
// and fight over the status socket and the pid file; the second used to fail
// only at bind, after damaging the first's files. The lock is taken before any
// of that, and the kernel drops it when the daemon dies, so a crash leaves no
// stale lock.
//
// It is an open-file-description lock (F_OFD_SETLK) rather than flock(2) for
// one reason: ntlsh can test it with F_OFD_GETLK without taking it, so asking
// "is ntlsd running?" never makes a daemon that is starting at that moment
// fail. Like flock, it survives fork (the --daemon child keeps it).

#include <sys/types.h>

#include <string>

namespace ntlsd {

// LockPath is <root>/ntlsd.lock.
std::string LockPath(const std::string& root);

class InstanceLock {
 public:
  InstanceLock() = default;
  ~InstanceLock();
  InstanceLock(const InstanceLock&) = delete;
  InstanceLock& operator=(const InstanceLock&) = delete;

  // Acquire takes the lock on `root` without waiting. On failure it returns
  // false and says why in `error`: another ntlsd holds it (with its pid), or
  // the lock file cannot be opened.
  bool Acquire(const std::string& root, std::string* error);

  // RecordPid writes `pid` into the lock file, for ntlsh and for the message
  // a second daemon prints. Call it with the serving process's pid.
  void RecordPid(pid_t pid);

 private:
  int fd_ = -1;
};

// LockState is what a look at the lock on a root found.
enum class LockState {
  kFree,     // no ntlsd serves the root (or there is no lock file yet)
  kHeld,     // an ntlsd serves it
  kUnknown,  // the lock file could not be read (see the error)
};

// ProbeLock tests the lock on `root` without taking it. When it is held, `pid`
// is the pid the daemon recorded (0 if none yet); when it cannot tell,
// `error` says why (a user other than root and the root's owner may not read
// the lock file).
LockState ProbeLock(const std::string& root, pid_t* pid, std::string* error);

}  // namespace ntlsd

#endif  // TRUSTLINK_EXAMPLES_NTLSD_INSTANCE_LOCK_H_
