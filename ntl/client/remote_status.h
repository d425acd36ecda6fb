#ifndef TRUSTLINK_NTL_CLIENT_REMOTE_STATUS_H_
#define TRUSTLINK_NTL_CLIENT_REMOTE_STATUS_H_

// CanonicalForRemote picks the absl code for a tl_status the server sent (in a
// response, a stream close or a goaway), so callers that branch on the
// canonical code see the same thing on every kind of link.

#include <cstdint>

#include "absl/status/status.h"

namespace trustlink::ntl::client {

absl::StatusCode CanonicalForRemote(int32_t code);

}  // namespace trustlink::ntl::client

#endif  // TRUSTLINK_NTL_CLIENT_REMOTE_STATUS_H_
