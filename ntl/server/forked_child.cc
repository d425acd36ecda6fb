// What a fork() child may do with the Server it inherited: close its copies of
// the descriptors (capi/internal/fork_owner.h). The reasons are the client's
// (ntl/client/forked_child.cc): a closed copy is invisible to the parent, while
// epoll_ctl on the shared epoll sets, shutdown(2) or a TLS alert would end or
// stall the parent's links. The listener matters most: a child that kept it
// would hold the port after the parent stopped, and a restarted daemon could
// not bind it.

#include <unistd.h>

#include "ntl/server/conn.h"
#include "ntl/server/event_loop.h"
#include "ntl/server/server.h"

namespace trustlink::ntl::server {
namespace {

void CloseCopy(int* fd) {
  if (*fd >= 0) {
    close(*fd);
    *fd = -1;
  }
}

}  // namespace

namespace internal_engine {

void Loop::CloseDescriptorsInForkedChild() {
  for (auto& [id, conn] : conns_) {
    CloseCopy(&conn->fd);
  }
  CloseCopy(&epoll_fd_);
  CloseCopy(&event_fd_);
  CloseCopy(&tick_fd_);
  // listen_fd_ is the Server's, borrowed.
  listen_fd_ = -1;
}

}  // namespace internal_engine

void Server::CloseDescriptorsInForkedChild() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  for (auto& loop : loops_) {
    loop->CloseDescriptorsInForkedChild();
  }
  CloseCopy(&listen_fd_);
}

}  // namespace trustlink::ntl::server
