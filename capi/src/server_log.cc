// The priority of a server log line, for tl_server_log_fn (trustlink/server.h).
// The engine's lines start with an event word (docs/server.md, "Log lines");
// the word decides, so a new event is info until it is listed here.
#include "absl/strings/match.h"
#include "capi/src/server_handles.h"

namespace trustlink::capi::server_internal {

int32_t LogPriority(absl::string_view line) {
  if (absl::StartsWith(line, "ALERT")) {
    return TL_LOG_ERROR;  // an HTL clone: two copies of a client exist
  }
  for (absl::string_view word :
       {"refused", "handshake-failed", "protocol-error", "certificate-error",
        "htl-down"}) {
    if (absl::StartsWith(line, word)) {
      return TL_LOG_WARNING;
    }
  }
  if (absl::StartsWith(line, "closing") &&
      absl::StrContains(line, "rule=htl-down")) {
    return TL_LOG_WARNING;
  }
  return TL_LOG_INFO;
}

}  // namespace trustlink::capi::server_internal
