#ifndef TRUSTLINK_NTL_SERVER_LINK_SETTINGS_H_
#define TRUSTLINK_NTL_SERVER_LINK_SETTINGS_H_

// Applying LinkSettings (directory.h) to a socket. Private to ntl/server.

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ntl/server/directory.h"

namespace trustlink::ntl::server {

// SetKeepAlive turns TCP keep-alive on `fd` on with the idle time, interval and
// probe count of `settings`, or off.
void SetKeepAlive(int fd, const LinkSettings& settings);

// IdleLimit is how long an admitted link may send nothing before it gets
// goaway: the receive timeout, capped by `idle_timeout`
// (ServerOptions::idle_timeout). An htl/1 link (`htl_link`) has only the idle
// timeout: its agent speaks once per polling interval, which the admin of
// the client chooses, and a lost HTL link already has its grace period.
// `rule` names the limit that applies, for the log ("receive-timeout" or
// "idle-timeout").
absl::Duration IdleLimit(const LinkSettings& settings,
                         absl::Duration idle_timeout, bool htl_link,
                         absl::string_view* rule);

}  // namespace trustlink::ntl::server

#endif  // TRUSTLINK_NTL_SERVER_LINK_SETTINGS_H_
