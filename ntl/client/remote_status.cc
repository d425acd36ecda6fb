#include "ntl/client/remote_status.h"

#include "trustlink/base.h"

namespace trustlink::ntl::client {

absl::StatusCode CanonicalForRemote(int32_t code) {
  switch (code) {
    case TL_E_INVALID_ARGUMENT:
      return absl::StatusCode::kInvalidArgument;
    case TL_E_NOT_FOUND:
      return absl::StatusCode::kNotFound;
    case TL_E_PERMISSION_DENIED:
    case TL_E_PARTITION_NOT_ASSIGNED:
    case TL_E_NOT_REGISTERED:
    case TL_E_IP_MISMATCH:
    case TL_E_HTL_REQUIRED_BY_APPLIANCE:
    case TL_E_HTL_REQUIRED_BY_CLIENT:
    case TL_E_HTL_DOWN:
    case TL_E_HTL_CLONE_DETECTED:
    case TL_E_OTT_EXPIRED:
    case TL_E_OTT_USED:
    case TL_E_OTT_INVALID:
      return absl::StatusCode::kPermissionDenied;
    case TL_E_UNAUTHENTICATED:
      return absl::StatusCode::kUnauthenticated;
    case TL_E_DEADLINE_EXCEEDED:
      return absl::StatusCode::kDeadlineExceeded;
    case TL_E_UNAVAILABLE:
    case TL_E_CONNECTION_LOST:
      return absl::StatusCode::kUnavailable;
    case TL_E_UNIMPLEMENTED:
      return absl::StatusCode::kUnimplemented;
    case TL_E_RESOURCE_EXHAUSTED:
      return absl::StatusCode::kResourceExhausted;
    case TL_E_PROTOCOL:
      return absl::StatusCode::kInternal;
    default:
      return absl::StatusCode::kUnknown;
  }
}

}  // namespace trustlink::ntl::client
