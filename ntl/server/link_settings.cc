// The per-link settings an admin changes while the server runs (directory.h,
// LinkSettings): which ones apply, and keep-alive on an accepted socket.
#include "ntl/server/link_settings.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "ntl/server/event_loop.h"

namespace trustlink::ntl::server {

void SetKeepAlive(int fd, const LinkSettings& s) {
  const int on = s.tcp_keepalive ? 1 : 0;
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
  if (on) {
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &s.keepalive_idle_seconds,
               sizeof(int));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &s.keepalive_interval_seconds,
               sizeof(int));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &s.keepalive_count, sizeof(int));
  }
}

absl::Duration IdleLimit(const LinkSettings& settings,
                         absl::Duration idle_timeout, bool htl_link,
                         absl::string_view* rule) {
  if (htl_link || settings.receive_timeout >= idle_timeout) {
    *rule = "idle-timeout";
    return idle_timeout;
  }
  *rule = "receive-timeout";
  return settings.receive_timeout;
}

namespace internal_engine {

LinkSettings Loop::link_settings() {
  const absl::optional<LinkSettings> from_directory =
      snapshot()->link_settings();
  return from_directory ? *from_directory : server_->options_.link;
}

}  // namespace internal_engine
}  // namespace trustlink::ntl::server
