#ifndef TRUSTLINK_CAPI_INTERNAL_LOG_EVENT_H_
#define TRUSTLINK_CAPI_INTERNAL_LOG_EVENT_H_

// tl_log_event (trustlink/log.h): a server log line read as a structured
// event. The server's lines are "<kind> key=value key='value' key=\"value\"
// ...", and HTL alerts are "ALERT <part> ..."; ParseLogLine reads that shape
// so the host gets the kind, the client and the addresses without parsing.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

struct tl_log_event {
  int32_t level = 1;  // TL_LOG_INFO
  std::string source;
  std::string kind;
  std::string line;
  std::string client;  // "" when the line names none
  std::vector<std::string> addresses;
  std::vector<std::pair<std::string, std::string>> fields;
};

namespace trustlink::capi::internal {

tl_log_event ParseLogLine(absl::string_view source, absl::string_view line);

}  // namespace trustlink::capi::internal

#endif  // TRUSTLINK_CAPI_INTERNAL_LOG_EVENT_H_
