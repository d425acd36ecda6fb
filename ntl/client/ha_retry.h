#ifndef TRUSTLINK_NTL_CLIENT_HA_RETRY_H_
#define TRUSTLINK_NTL_CLIENT_HA_RETRY_H_

// The retry rules of HA group calls (docs/ha.md, "Retry rules"): which failed
// attempts may go to another member, and what a call whose outcome is unknown
// returns.

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace trustlink::ntl::client {

// IsPureOp: `op` may run twice with no effect beyond its answer, so a call
// lost in flight is sent again. The one table of such ops: the software
// partition's echo, random, sha256 and hmac (docs/server.md).
bool IsPureOp(uint32_t op);

enum class HaRetry {
  kDeliver,         // the attempt's outcome is the call's
  kRetry,           // not run (or pure): try another member
  kOutcomeUnknown,  // lost in flight, not pure: TL_E_OUTCOME_UNKNOWN
};

// ClassifyAttempt decides what an attempt that ended with `result` means for
// a call of `op`.
HaRetry ClassifyAttempt(const absl::Status& result, uint32_t op);

// OutcomeUnknown is the TL_E_OUTCOME_UNKNOWN status of a call of `op` on
// group `group` whose member (server `server`, partition `partition`) was lost
// with `why` while it was in flight.
absl::Status OutcomeUnknown(absl::string_view group, uint32_t op,
                            absl::string_view server,
                            absl::string_view partition,
                            const absl::Status& why);

}  // namespace trustlink::ntl::client

#endif  // TRUSTLINK_NTL_CLIENT_HA_RETRY_H_
