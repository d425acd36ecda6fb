#include "ntl/client/ha_retry.h"

#include "absl/strings/str_cat.h"
#include "ntl/status.h"
#include "ntl/wire/software_ops.h"

namespace trustlink::ntl::client {
namespace {

// The software partition's ops that change nothing on the partition: sending
// one again cannot change an outcome.
constexpr uint32_t kPureOps[] = {wire::kOpEcho, wire::kOpRandom,
                                 wire::kOpSha256, wire::kOpHmacSha256};

}  // namespace

bool IsPureOp(uint32_t op) {
  for (uint32_t pure : kPureOps) {
    if (op == pure) {
      return true;
    }
  }
  return false;
}

HaRetry ClassifyAttempt(const absl::Status& result, uint32_t op) {
  switch (ToTlStatus(result)) {
    // Refused before it ran: the link was not up when it was sent, or the
    // server no longer serves the partition to this client.
    case TL_E_UNAVAILABLE:
    case TL_E_PARTITION_NOT_ASSIGNED:
      return HaRetry::kRetry;
    // Sent, and the link went before the answer came.
    case TL_E_CONNECTION_LOST:
      return IsPureOp(op) ? HaRetry::kRetry : HaRetry::kOutcomeUnknown;
    default:
      // Answers (OK or the partition's own error), the deadline, and closing
      // the client are the call's outcome.
      return HaRetry::kDeliver;
  }
}

absl::Status OutcomeUnknown(absl::string_view group, uint32_t op,
                            absl::string_view server,
                            absl::string_view partition,
                            const absl::Status& why) {
  return Error(
      absl::StatusCode::kUnavailable, TL_E_OUTCOME_UNKNOWN,
      absl::StrCat("the outcome of op ", op, " on HA group '", group,
                   "' is unknown: member '", partition, "' on server '", server,
                   "' was lost while the call was in flight (", why.message(),
                   "); it may or may not have run there, and the op is not "
                   "pure, so it was not sent again; check its effect before "
                   "repeating it"));
}

}  // namespace trustlink::ntl::client
