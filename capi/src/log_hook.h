// The process-wide log hook of trustlink/log.h, for the parts of the C ABI
// that make servers.
#ifndef TRUSTLINK_CAPI_SRC_LOG_HOOK_H_
#define TRUSTLINK_CAPI_SRC_LOG_HOOK_H_

#include "absl/strings/string_view.h"

namespace trustlink::capi::internal {

// LogLine hands one line from `source` ("ntls") to the callback set with
// tl_set_log_callback, or to stderr when there is none. Safe from any thread;
// it holds no lock while the callback runs.
void LogLine(absl::string_view source, absl::string_view line) noexcept;

}  // namespace trustlink::capi::internal

#endif  // TRUSTLINK_CAPI_SRC_LOG_HOOK_H_
