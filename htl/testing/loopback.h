#ifndef TRUSTLINK_HTL_TESTING_LOOPBACK_H_
#define TRUSTLINK_HTL_TESTING_LOOPBACK_H_

// LoopbackConnector: HtlSessions that go straight into a real Appliance in the
// same process, doing exactly what the server's htl/1 handler must do
// (docs/htl.md, "Integration"): decode the request, call Establish/Heartbeat
// with this session's exporter and source, encode the grant or return the
// refusal, and report the link's end. Failure injection: drop a reply after the
// appliance processed it, as a lost packet would.

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "htl/appliance.h"
#include "htl/session.h"

namespace trustlink::htl::testing {

// Thread safety: not thread-safe; one agent thread uses it.
class LoopbackConnector : public HtlConnector {
 public:
  // `client` is the label the appliance knows the client by (the server would
  // look it up by certificate fingerprint); `source` is the address the
  // sessions appear to come from.
  LoopbackConnector(Appliance* appliance, std::string client,
                    std::string source)
      : appliance_(appliance),
        client_(std::move(client)),
        source_(std::move(source)) {}

  absl::StatusOr<std::unique_ptr<HtlSession>> Connect(
      absl::string_view appliance) override;

  // drop_reply, if set, is asked after each processed request; true drops the
  // reply and kills the session (TL_E_CONNECTION_LOST), as a broken connection
  // would.
  std::function<bool()> drop_reply;
  // refuse_connect makes Connect fail (appliance unreachable).
  bool refuse_connect = false;
  int connects = 0;
  // Swap the appliance (a restarted appliance process).
  void set_appliance(Appliance* a) { appliance_ = a; }

 private:
  friend class LoopbackSession;
  Appliance* appliance_;
  const std::string client_;
  const std::string source_;
};

}  // namespace trustlink::htl::testing

#endif  // TRUSTLINK_HTL_TESTING_LOOPBACK_H_
