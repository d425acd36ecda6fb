#ifndef TRUSTLINK_EXAMPLES_NTLSD_DAEMONIZE_H_
#define TRUSTLINK_EXAMPLES_NTLSD_DAEMONIZE_H_

// ntlsd --daemon: the process that was started returns only when the daemon
// is serving (exit 0) or has failed to start (the daemon's own exit status),
// so `ntlsd --daemon && ...` and `ntlsh service start ntls` see a failed start.
// The daemon's stderr stays the caller's until it is ready, so its error
// message reaches the terminal that started it.

namespace ntlsd {

class Daemonizer {
 public:
  // Fork detaches: the parent waits for the child's word and exits with it
  // (it never returns); the child returns true in a new session. Returns
  // false (in the only process) if the fork failed. Call it before any
  // thread exists.
  bool Fork();

  // Ready tells the waiting parent that the daemon serves; it exits 0. Does
  // nothing outside --daemon or after the first call.
  void Ready();

 private:
  int ready_fd_ = -1;
};

}  // namespace ntlsd

#endif  // TRUSTLINK_EXAMPLES_NTLSD_DAEMONIZE_H_
