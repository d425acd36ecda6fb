// The tl_client_root handle and tl_string_list, shared by the files that
// implement trustlink/client_config.h and trustlink/client_ha_config.h.
#ifndef TRUSTLINK_CAPI_SRC_CLIENT_ROOT_HANDLE_H_
#define TRUSTLINK_CAPI_SRC_CLIENT_ROOT_HANDLE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/optional.h"
#include "capi/internal/last_error.h"
#include "ntl/config_root.h"
#include "trustlink/client_config.h"

struct tl_client_root : trustlink::capi::internal::Handle {
  absl::optional<trustlink::ntl::ClientRoot> root;
  std::string path;
  std::string config_path;
};

struct tl_string_list : trustlink::capi::internal::Handle {
  std::vector<std::string> items;
};

namespace trustlink::capi::client_root_internal {

// NotOpen is the error of an operation on a root whose open failed or never
// ran.
absl::Status NotOpen();
using ::trustlink::capi::internal::NullArgument;

}  // namespace trustlink::capi::client_root_internal

#endif  // TRUSTLINK_CAPI_SRC_CLIENT_ROOT_HANDLE_H_
