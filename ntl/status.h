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

// The fixes that several messages name. A message names fixes in terms of the
// library's API, because its reader may be any program built on it; the
// example programs add their own command-line hints (examples/vtl/vtl_hints.c).
inline constexpr absl::string_view kRepairFix =
    "repair the trust store (tl_client_root_verify with TL_VERIFY_REPAIR)";
inline constexpr absl::string_view kRecreateIdentityFix =
    "create the identity again with force (tl_client_root_create_cert)";

// ToTlStatus returns the public code for `status`: its payload if it has one,
// otherwise the code mapped from its canonical code.
tl_status ToTlStatus(const absl::Status& status);

// FreshStatus copies `status` into a new representation that shares nothing
// with the original. Statuses handed to another thread go through it: a
// non-OK absl::Status is reference counted, and Debian's Abseil is not
// TSan-instrumented, so its out-of-line Unref is invisible to TSan and a
// correct hand-over of a shared representation is reported as a race (and
// halt_on_error kills the process). The cost is one small allocation on an
// error path.
inline absl::Status FreshStatus(const absl::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return Error(status.code(), ToTlStatus(status), status.message());
}

}  // namespace trustlink::ntl

#endif  // TRUSTLINK_NTL_STATUS_H_
