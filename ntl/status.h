#ifndef TRUSTLINK_NTL_STATUS_H_
#define TRUSTLINK_NTL_STATUS_H_

// Errors in trustlink's C++ core are absl::Status values. Where the canonical
// code is too coarse for a caller (an expired certificate is more than
// FAILED_PRECONDITION), the status also carries the precise public tl_status
// code as a payload. The C ABI reads it back with ToTlStatus, so there is one
// mapping table and it lives in status.cc.

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "trustlink/base.h"

namespace trustlink::ntl {

// Error makes a status with canonical code `code`, precise public code
// `tl_code` and `message`. The message should name the object and the fix.
absl::Status Error(absl::StatusCode code, tl_status tl_code,
                   absl::string_view message);

// ToTlStatus returns the public code for `status`: its payload if it has one,
// otherwise the code mapped from its canonical code.
tl_status ToTlStatus(const absl::Status& status);

}  // namespace trustlink::ntl

#endif  // TRUSTLINK_NTL_STATUS_H_
