#ifndef TRUSTLINK_NTL_CLIENT_SOCKET_SETUP_H_
#define TRUSTLINK_NTL_CLIENT_SOCKET_SETUP_H_

// The TCP socket every client link starts from, so the application links
// (Connection) and the one-shot sessions (FramedSession) cannot drift apart in
// how they treat the network.

#include "absl/status/statusor.h"
#include "ntl/client/settings.h"

namespace trustlink::ntl::client {

// NewLinkSocket returns a new non-blocking, close-on-exec TCP socket of
// `family` (AF_INET or AF_INET6) with TCP_NODELAY, and with keep-alive as
// `settings` configure it. The caller owns the descriptor and closes it. On
// failure it returns TL_E_IO whose message is "socket: " and the system's
// reason.
absl::StatusOr<int> NewLinkSocket(int family, const ClientSettings& settings);

}  // namespace trustlink::ntl::client

#endif  // TRUSTLINK_NTL_CLIENT_SOCKET_SETUP_H_
