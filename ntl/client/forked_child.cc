// What a fork() child may do with the Client it inherited: close its copies of
// the descriptors. Everything else is the parent's
// (capi/internal/fork_owner.h).
//
// Closing a copy is invisible to the parent: a socket stays open, and stays in
// the parent's epoll set, while the parent's own descriptor refers to it.
// epoll_ctl(EPOLL_CTL_DEL) would not be: the epoll set is shared, so it would
// take the parent's sockets out of its loop. Nor would shutdown(2) or
// SSL_shutdown, which end the connection for both. And a child that kept its
// copies open would keep the parent's links (and the server's view of them)
// alive after the parent closed them.
//
// No lock is taken: the child has one thread, and a lock held at the moment of
// fork by a parent thread would never be released. A parent thread that was
// between close(fd) and fd = -1 at that moment is the one case this can get
// wrong (a second close of an unused number, EBADF); the window is a few
// instructions.

#include <unistd.h>

#include "ntl/client/client.h"
#include "ntl/client/connection.h"

namespace trustlink::ntl::client {

void Connection::CloseInForkedChild() {
  for (int* fd : {&fd_, &kick_fd_}) {
    if (*fd >= 0) {
      close(*fd);
      *fd = -1;
    }
  }
}

void Client::CloseDescriptorsInForkedChild() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  for (auto& c : conns_) {
    c->CloseInForkedChild();
  }
  // c-ares's sockets, without c-ares: ares_destroy would tell the shared
  // epoll set to drop them.
  if (dns_ != nullptr) {
    for (int fd : dns_->sockets()) {
      close(fd);
    }
  }
  for (int* fd : {&epoll_fd_, &wake_fd_, &timer_fd_}) {
    if (*fd >= 0) {
      close(*fd);
      *fd = -1;
    }
  }
}

}  // namespace trustlink::ntl::client
