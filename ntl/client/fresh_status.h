#ifndef TRUSTLINK_NTL_CLIENT_FRESH_STATUS_H_
#define TRUSTLINK_NTL_CLIENT_FRESH_STATUS_H_

// The client's name for ntl::FreshStatus (ntl/status.h), which says why
// statuses handed to another thread are copied.

#include "absl/status/status.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {

using ::trustlink::ntl::FreshStatus;

}  // namespace trustlink::ntl::client

#endif  // TRUSTLINK_NTL_CLIENT_FRESH_STATUS_H_
