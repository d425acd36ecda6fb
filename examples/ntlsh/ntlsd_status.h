#ifndef TRUSTLINK_EXAMPLES_NTLSH_NTLSD_STATUS_H_
#define TRUSTLINK_EXAMPLES_NTLSH_NTLSD_STATUS_H_

// The running NTLS service as ntlsd reports it on its status and control
// socket (docs/server.md, "Status and control socket"), for `ntls show`,
// `ntls information show` and the `service` commands.

#include <string>
#include <vector>

namespace ntlsh {

struct NtlsdClient {
  int connections = 0;
  std::string fingerprint;
  std::string label;
};

// NtlsdStat is one of the server's counters (a `stat NAME VALUE` line).
struct NtlsdStat {
  std::string name;
  unsigned long long value = 0;
};

struct NtlsdStatus {
  std::string listen;
  int connections = 0;
  int unauthenticated = 0;
  std::vector<NtlsdClient> clients;
  long long pid = 0;
  long long started = 0;        // Unix time the daemon started
  long long serving_since = 0;  // Unix time of the last (re)start
  int restarts = 0;
  std::string bind;  // registry, command-line (--listen) or previous
  std::vector<NtlsdStat> stats;  // in ntlsd's order; none from an older ntlsd
};

// AskNtlsd sends `request` ("status", "stop" or "restart") to the ntlsd at
// `socket_path` and parses its answer, waiting at most `timeout_seconds`. On
// failure it returns false and says why in `error`: no daemon, a socket it
// may not use, or the daemon's own error (a failed restart).
bool AskNtlsd(const std::string& socket_path, const std::string& request,
              int timeout_seconds, NtlsdStatus* status, std::string* error);

// ParseNtlsdReply reads ntlsd's answer (lines up to `end`) into `status`. An
// `error ...` line or a malformed known line returns false with the reason in
// `error`, and `status` is left as it was; unknown lines are skipped.
bool ParseNtlsdReply(const std::string& reply, NtlsdStatus* status,
                     std::string* error);

// QueryNtlsd is AskNtlsd("status") within 2 seconds.
bool QueryNtlsd(const std::string& socket_path, NtlsdStatus* status,
                std::string* error);

}  // namespace ntlsh

#endif  // TRUSTLINK_EXAMPLES_NTLSH_NTLSD_STATUS_H_
