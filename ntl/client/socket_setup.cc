#include "ntl/client/socket_setup.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {

absl::StatusOr<int> NewLinkSocket(int family, const ClientSettings& settings) {
  const int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return Error(absl::StatusCode::kResourceExhausted, TL_E_IO,
                 absl::StrCat("socket: ", strerror(errno)));
  }
  // Frames are small and latency-bound; Nagle would hold a request back
  // waiting for the previous one's ACK. The options are best effort: a link
  // without them still works.
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (settings.tcp_keepalive) {
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &settings.keepalive_idle_seconds,
               sizeof(int));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL,
               &settings.keepalive_interval_seconds, sizeof(int));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &settings.keepalive_count,
               sizeof(int));
  }
  return fd;
}

}  // namespace trustlink::ntl::client
