#ifndef TRUSTLINK_EXAMPLES_NTLSH_NTLSD_STATUS_H_
#define TRUSTLINK_EXAMPLES_NTLSH_NTLSD_STATUS_H_

// The running NTLS service as ntlsd reports it on its status socket
// (docs/server.md, "Status socket"), for `ntls show`.

#include <string>
#include <vector>

namespace ntlsh {

struct NtlsdClient {
  int connections = 0;
  std::string fingerprint;
  std::string label;
};

struct NtlsdStatus {
  std::string listen;
  int connections = 0;
  int unauthenticated = 0;
  std::vector<NtlsdClient> clients;
};

// QueryNtlsd asks the ntlsd at `socket_path` for its status, waiting at most 2
// seconds. On failure it returns false and says why in `error` (no daemon, a
// socket it may not open, a malformed answer).
bool QueryNtlsd(const std::string& socket_path, NtlsdStatus* status,
                std::string* error);

}  // namespace ntlsh

#endif  // TRUSTLINK_EXAMPLES_NTLSH_NTLSD_STATUS_H_
