#ifndef TRUSTLINK_NTL_SERVER_LINK_SETTINGS_H_
#define TRUSTLINK_NTL_SERVER_LINK_SETTINGS_H_

// Applying LinkSettings (directory.h) to a socket. Private to ntl/server.

#include "ntl/server/directory.h"

namespace trustlink::ntl::server {

// SetKeepAlive turns TCP keep-alive on `fd` on with the idle time, interval and
// probe count of `settings`, or off.
void SetKeepAlive(int fd, const LinkSettings& settings);

}  // namespace trustlink::ntl::server

#endif  // TRUSTLINK_NTL_SERVER_LINK_SETTINGS_H_
