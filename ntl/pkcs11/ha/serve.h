#ifndef TRUSTLINK_NTL_PKCS11_HA_SERVE_H_
#define TRUSTLINK_NTL_PKCS11_HA_SERVE_H_

// ServeGroup is the body of an HA group's bridge (`vtl p11 habridge`):
// p11-kit-proxy starts it from the group's module config and speaks p11-kit's
// PKCS#11 RPC on its stdin and stdout. It loads the member modules (the
// per-server bridges, trustlink-<server>) through p11-kit and serves the
// group's virtual module (ha_module.h) with p11_kit_remote_serve_module until
// the application finalises.

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace trustlink::ntl::pkcs11::ha {

struct GroupMember {
  std::string server;
  std::string partition;
};

struct GroupServeOptions {
  std::string label;
  std::string serial;                // empty: derived from the label
  std::vector<GroupMember> members;  // in order of preference
  // from_config: the group is in trustlink.conf, so its module's command
  // names only the group and the bridge reads the members there (members
  // added later need no new setup).
  bool from_config = false;
  absl::Duration retry_interval = absl::Seconds(1);
  int reconnect_attempts = -1;                  // reconnAtt (ha_module.h)
  std::function<void(const std::string&)> log;  // one line per event
};

// ValidateGroup checks the label and members (names as in module_config.h,
// at least one member, no server twice).
absl::Status ValidateGroup(const GroupServeOptions& options);

// ServeGroup blocks until in_fd ends. It fails before serving when
// libp11-kit or a member's module config is missing.
absl::Status ServeGroup(const GroupServeOptions& options, int in_fd,
                        int out_fd);

}  // namespace trustlink::ntl::pkcs11::ha

#endif  // TRUSTLINK_NTL_PKCS11_HA_SERVE_H_
