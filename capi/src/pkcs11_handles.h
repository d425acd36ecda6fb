// The tl_p11_setup handle, shared by pkcs11.cc (servers) and pkcs11_ha.cc
// (HA groups).
#ifndef TRUSTLINK_CAPI_SRC_PKCS11_HANDLES_H_
#define TRUSTLINK_CAPI_SRC_PKCS11_HANDLES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "capi/internal/last_error.h"
#include "ntl/pkcs11/ha/serve.h"
#include "ntl/pkcs11/module_config.h"

struct tl_p11_setup : trustlink::capi::internal::Handle {
  std::string dir;
  std::vector<std::string> bridge_argv;
  std::vector<trustlink::ntl::pkcs11::ModuleAssignment> assignments;
  // HA groups (pkcs11_ha.cc).
  std::vector<std::string> habridge_argv;
  std::vector<trustlink::ntl::pkcs11::ha::GroupServeOptions> groups;
  bool ha_only = false;
};

namespace trustlink::capi::internal {

// AddSetupWord appends arg to one of setup's commands (bridge_argv or
// habridge_argv), the body of tl_p11_setup_add_bridge_arg and
// tl_p11_setup_add_habridge_arg.
tl_status AddSetupWord(tl_p11_setup* setup, const char* arg,
                       std::vector<std::string> tl_p11_setup::*command);

// SetupAssignments returns the server modules (hidden with HAOnly) and one
// module per group.
absl::StatusOr<std::vector<ntl::pkcs11::ModuleAssignment>> SetupAssignments(
    const tl_p11_setup& setup);

}  // namespace trustlink::capi::internal

#endif  // TRUSTLINK_CAPI_SRC_PKCS11_HANDLES_H_
