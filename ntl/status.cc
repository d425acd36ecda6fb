#include "ntl/status.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/cord.h"
#include "absl/types/optional.h"

namespace trustlink::ntl {
namespace {

constexpr absl::string_view kTlStatusPayload = "type.trustlink.dev/tl_status";

tl_status FromCanonical(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return TL_OK;
    case absl::StatusCode::kCancelled:
      return TL_E_CANCELLED;
    case absl::StatusCode::kInvalidArgument:
      return TL_E_INVALID_ARGUMENT;
    case absl::StatusCode::kDeadlineExceeded:
      return TL_E_DEADLINE_EXCEEDED;
    case absl::StatusCode::kNotFound:
      return TL_E_NOT_FOUND;
    case absl::StatusCode::kAlreadyExists:
      return TL_E_ALREADY_EXISTS;
    case absl::StatusCode::kPermissionDenied:
      return TL_E_PERMISSION_DENIED;
    case absl::StatusCode::kResourceExhausted:
      return TL_E_RESOURCE_EXHAUSTED;
    case absl::StatusCode::kFailedPrecondition:
      return TL_E_FAILED_PRECONDITION;
    case absl::StatusCode::kAborted:
      return TL_E_ABORTED;
    case absl::StatusCode::kOutOfRange:
      return TL_E_OUT_OF_RANGE;
    case absl::StatusCode::kUnimplemented:
      return TL_E_UNIMPLEMENTED;
    case absl::StatusCode::kUnavailable:
      return TL_E_UNAVAILABLE;
    case absl::StatusCode::kDataLoss:
      return TL_E_DATA_LOSS;
    case absl::StatusCode::kUnauthenticated:
      return TL_E_UNAUTHENTICATED;
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    default:
      return TL_E_INTERNAL;
  }
}

}  // namespace

absl::Status Error(absl::StatusCode code, tl_status tl_code,
                   absl::string_view message) {
  absl::Status status(code, message);
  char bytes[sizeof(tl_code)];
  std::memcpy(bytes, &tl_code, sizeof(bytes));
  status.SetPayload(kTlStatusPayload,
                    absl::Cord(absl::string_view(bytes, sizeof(bytes))));
  return status;
}

tl_status ToTlStatus(const absl::Status& status) {
  if (status.ok()) {
    return TL_OK;
  }
  absl::optional<absl::Cord> payload = status.GetPayload(kTlStatusPayload);
  if (payload.has_value() && payload->size() == sizeof(tl_status)) {
    std::string bytes(*payload);
    tl_status code;
    std::memcpy(&code, bytes.data(), sizeof(code));
    return code;
  }
  return FromCanonical(status.code());
}

}  // namespace trustlink::ntl
