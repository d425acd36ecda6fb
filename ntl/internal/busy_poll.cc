#include "ntl/internal/busy_poll.h"

#include "absl/strings/str_cat.h"

namespace trustlink::ntl::internal {

absl::Status CheckBusyPollBudget(uint32_t budget_us, const char* what) {
  if (budget_us <= kMaxBusyPollMicros) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      what, " of ", budget_us, " microseconds is over the limit of ",
      kMaxBusyPollMicros, "; give 0 (off, the default) or up to ",
      kMaxBusyPollMicros, " (about 50 covers a loopback or LAN round trip)"));
}

}  // namespace trustlink::ntl::internal
