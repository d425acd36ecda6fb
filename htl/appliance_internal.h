#ifndef TRUSTLINK_HTL_APPLIANCE_INTERNAL_H_
#define TRUSTLINK_HTL_APPLIANCE_INTERNAL_H_

// What the files implementing htl::Appliance (appliance*.cc) share and nobody
// else needs: the names of the files under <root>/htl/ that more than one of
// them touches, and the one refusal they all phrase the same way. It lives here
// rather than in appliance.h so the public header stays the API; it is private
// to the //htl:appliance target.

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "ntl/status.h"

namespace trustlink::htl::appliance_internal {

inline constexpr absl::string_view kLockFile = "lock";
inline constexpr absl::string_view kAlertsFile = "alerts.log";
inline constexpr size_t kMaxStateFile = 64 * 1024;

// HtlDown is the refusal for a client whose chain is not alive, telling the
// admin how to bring it back.
inline absl::Status HtlDown(absl::string_view client, absl::string_view why) {
  return ntl::Error(
      absl::StatusCode::kFailedPrecondition, TL_E_HTL_DOWN,
      absl::StrCat("HTL for client '", client, "' is ", why,
                   "; run htl generateott -client ", client,
                   " and copy the token to the client's htl/ directory"));
}

}  // namespace trustlink::htl::appliance_internal

#endif  // TRUSTLINK_HTL_APPLIANCE_INTERNAL_H_
