#include "ntl/client/verify.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "ntl/client/client.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {

absl::StatusOr<std::vector<VerifyResult>> Verify(ClientSettings settings,
                                                 absl::Duration timeout) {
  // One attempt per server, all in parallel on one event loop: the same code
  // path as the real link, so verify cannot disagree with what applications
  // see.
  settings.reconnect = false;
  settings.use_io_thread = true;
  settings.initial_wait = timeout;
  settings.connect_timeout = std::min(settings.connect_timeout, timeout);
  absl::StatusOr<std::unique_ptr<Client>> client =
      Client::Create(std::move(settings));
  if (!client.ok()) {
    return client.status();
  }
  std::vector<VerifyResult> out;
  for (const ServerStatus& s : (*client)->Servers()) {
    VerifyResult r;
    r.server = s.name;
    r.host = s.host;
    r.port = s.port;
    r.slots = s.slots;
    if (s.state == LinkState::kReady) {
      if (s.slots.empty()) {
        r.code = TL_E_NO_PARTITIONS;
        r.message = absl::StrCat(
            "server '", s.name, "' admitted this client (as '", s.client_label,
            "') but assigns it no partitions; assign one on the "
            "appliance (tl_registry_assign_partition)");
      }
    } else if (s.last_error.ok() || s.state == LinkState::kConnecting ||
               s.state == LinkState::kHandshaking ||
               s.state == LinkState::kAwaitingWelcome) {
      r.code = TL_E_DEADLINE_EXCEEDED;
      r.message =
          absl::StrCat("server '", s.name, "' at ", s.host, ":", s.port,
                       " did not answer within ", absl::FormatDuration(timeout),
                       " (", LinkStateName(s.state), ")");
    } else {
      r.code = ToTlStatus(s.last_error);
      r.message = std::string(s.last_error.message());
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace trustlink::ntl::client
